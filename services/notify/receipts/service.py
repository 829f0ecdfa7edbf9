"""Applying a provider's receipt (notify spec §16.5): one conditional update from `sending` (or `pending`) to the
outcome, so a repeated receipt, one that arrives after the 72-hour timeout, or two racing each other change the row
at most once, and a final status never moves back. Email and SMS receipts differ only in how they name the
notification and word the outcome; `apply_receipt` is the rule both follow.

- `pending` (SMS only) is interim: it moves `sending` to `pending`, and nothing else.
- A decline (`permanent-failure`) after `pending` becomes `temporary-failure`, as in GOV.UK Notify: a provider
  that first reported the text pending and then gave up has not shown the number to be dead. The choice is made
  inside the UPDATE, from the status the row has at that moment.
- A final status (`sent` for international texts included) is never changed.

A receipt can overtake the worker: the provider answers the hand-over and posts its receipt while the worker has
yet to commit `sending`. The row is then still `created`, and the receipt is answered 409 so the provider posts it
again (every provider retries a webhook that did not answer 2xx); by then the row is `sending`. GOV.UK Notify
retries the same way when a receipt finds no notification with its reference yet.

A receipt that makes the status final owes the service's delivery-status callback in the same transaction
(`callbacks.outbox.record`); the callbacks sweep sends it within seconds of the commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.errors import Conflict
from gaap.jobs import transition
from gaap.logging import get_logger
from services.notify.callbacks import outbox as callbacks
from services.notify.inbox.service import notification_id_of
from services.notify.notifications.models import Notification
from services.notify.receipts.schemas import EMAIL_OUTCOMES, SMS_OUTCOMES, EmailReceipt, ReceiptAnswer, SmsReceipt

log = get_logger("notify.receipts")

#: The statuses a receipt may move a notification from.
AWAITING_RECEIPT = ("sending", "pending")


class NotHandedOverYet(Conflict):
    code = "NotHandedOverYet"
    message = "The notification has not been recorded as handed over yet; send the receipt again later"


def _move(outcome: str) -> tuple[tuple[str, ...], Any]:
    """(the statuses `outcome` may move a row from, the status to write: a value or a CASE on the row's own)."""
    if outcome == "pending":
        return ("sending",), "pending"
    if outcome == "permanent-failure":
        declined = case((Notification.status == "pending", "temporary-failure"), else_="permanent-failure")
        return AWAITING_RECEIPT, declined
    return AWAITING_RECEIPT, outcome


async def apply_receipt(
    session: AsyncSession,
    *,
    channel: str,
    provider: str,
    ident: uuid.UUID | None,
    outcome: str,
    reference: str,
    now: datetime,
) -> ReceiptAnswer:
    """Apply `outcome` to notification `ident` of `channel`, if `provider` is the one that was given it."""
    row = None
    if ident is not None:
        found = await session.execute(
            select(Notification.status, Notification.notification_type, Notification.sent_by).where(
                Notification.id == ident
            )
        )
        row = found.first()
    if ident is None or row is None or row.notification_type != channel or row.sent_by not in (provider, None):
        log.warning("notify.receipts.ignored", provider=provider, reference=reference[:200])
        return ReceiptAnswer(notification_id=ident, result="ignored", status=None)
    if row.status == "created":
        raise NotHandedOverYet()
    from_statuses, to_status = _move(outcome)
    moved = await transition(
        session, Notification, ident, from_status=from_statuses, to_status=to_status, updated_at=now
    )
    status = await _status(session, ident)
    if not moved:
        return ReceiptAnswer(notification_id=ident, result="unchanged", status=status)
    await callbacks.record(session, ident)  # a final status owes its callback; `pending` does not (§16.5)
    log.info("notify.receipts.applied", id=str(ident), provider=provider, status=status)
    return ReceiptAnswer(notification_id=ident, result="updated", status=status)


async def apply_email_receipt(
    session: AsyncSession, provider: str, receipt: EmailReceipt, *, email_domain: str, now: datetime
) -> ReceiptAnswer:
    return await apply_receipt(
        session,
        channel="email",
        provider=provider,
        ident=notification_id_of(receipt.message_id, email_domain),
        outcome=EMAIL_OUTCOMES[receipt.status],
        reference=receipt.message_id,
        now=now,
    )


async def apply_sms_receipt(
    session: AsyncSession, provider: str, receipt: SmsReceipt, *, now: datetime
) -> ReceiptAnswer:
    try:
        ident: uuid.UUID | None = uuid.UUID(receipt.reference)
    except ValueError:
        ident = None  # not a reference notify gives
    return await apply_receipt(
        session,
        channel="sms",
        provider=provider,
        ident=ident,
        outcome=SMS_OUTCOMES[receipt.status],
        reference=receipt.reference,
        now=now,
    )


async def _status(session: AsyncSession, ident: uuid.UUID) -> str | None:
    status: str | None = await session.scalar(select(Notification.status).where(Notification.id == ident))
    return status
