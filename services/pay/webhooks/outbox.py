"""Which payment changes are webhook events (pay spec §12's table), and the outbox rows they write.

`record` runs inside the transaction of the change (`payments.states.move`, and a refund's success), so a message
exists exactly when its change committed: the delivery lane can be late or retry, but it never sends an event that
was rolled back, nor misses one that was not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.formats import datetime_ms
from services.pay.ids import new_id
from services.pay.payments.models import Payment
from services.pay.payments.representation import payment_json
from services.pay.payments.states import PublicState
from services.pay.webhooks.models import Webhook, WebhookMessage

STARTED = "card_payment_started"
SUCCEEDED = "card_payment_succeeded"
CAPTURED = "card_payment_captured"
SETTLED = "card_payment_settled"
REFUNDED = "card_payment_refunded"
FAILED = "card_payment_failed"
EXPIRED = "card_payment_expired"
#: §15 B7: a delayed-capture payment awaits capture.
CAPTURABLE = "card_payment_capturable"
EVENT_TYPES = (STARTED, SUCCEEDED, CAPTURED, SETTLED, REFUNDED, FAILED, EXPIRED, CAPTURABLE)

#: Message statuses (§12).
PENDING = "PENDING"
SUCCESSFUL = "SUCCESSFUL"
FAILED_STATUS = "FAILED"
WILL_NOT_SEND = "WILL_NOT_SEND"

_ON_ENTERING = {"started": STARTED, "capturable": CAPTURABLE, "success": SUCCEEDED}


def events_for(before: PublicState, after: PublicState, values: Mapping[str, Any]) -> list[str]:
    """The events of one transition: a new public state (§12's "status becomes ..."), and the provider's capture
    and payout confirmations, which are dates set on the payment rather than states."""
    events = []
    if after != before:
        if after.status in _ON_ENTERING:
            events.append(_ON_ENTERING[after.status])
        elif after.code == "P0020":
            events.append(EXPIRED)
        elif after.finished and after.status != "success":
            events.append(FAILED)  # failed P0010/P0030, cancelled P0040, error P0050
    if values.get("captured_date") is not None:
        events.append(CAPTURED)
    if values.get("settled_date") is not None:
        events.append(SETTLED)
    return events


def message_body(message_id: str, event_type: str, payment_id: str, resource: dict[str, Any], now: datetime) -> str:
    """§12's request body: `resource` is the payment as §5.2 shows it at event time, without `_links`."""
    document = {
        "webhook_message_id": message_id,
        "created_date": datetime_ms(now),
        "resource_id": payment_id,
        "api_version": 1,
        "resource_type": "payment",
        "event_type": event_type,
        "resource": resource,
    }
    return orjson.dumps(document).decode()


async def record(session: AsyncSession, payment: Payment, events: Sequence[str], now: datetime) -> list[str]:
    """One message per (event, subscribed webhook) of the payment's account; returns their IDs. An inactive
    webhook's message is written as `WILL_NOT_SEND`, so the account can see what it did not receive."""
    if not events:
        return []
    hooks = (
        (
            await session.execute(
                select(Webhook).where(Webhook.service_id == payment.service_id, Webhook.mode == payment.mode)
            )
        )
        .scalars()
        .all()
    )
    resource = payment_json(payment, None)  # the same for every message of this change
    ids = []
    for event_type in events:
        for hook in hooks:
            if event_type not in hook.subscriptions:
                continue
            message_id = new_id()
            session.add(
                WebhookMessage(
                    id=message_id,
                    webhook_id=hook.id,
                    payment_id=payment.id,
                    event_type=event_type,
                    status=PENDING if hook.active else WILL_NOT_SEND,
                    body=message_body(message_id, event_type, payment.id, resource, now),
                    created_at=now,
                    updated_at=now,
                    next_attempt_at=now,
                )
            )
            ids.append(message_id)
    if ids:
        await session.flush()
    return ids
