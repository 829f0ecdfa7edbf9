"""What an account may read and do about its webhooks: the webhooks with their secrets (shown on demand, §12),
secret rotation (§12.2) and the delivery log (each message with every attempt's time, status code and reason).
Every query is scoped to one account, so no account sees another's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.formats import datetime_ms
from services.pay.webhooks import config
from services.pay.webhooks.models import Webhook, WebhookAttempt, WebhookMessage

MESSAGES_PAGE = 100


async def get(session: AsyncSession, service_id: uuid.UUID, mode: str, webhook_id: str) -> Webhook | None:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.service_id != service_id or hook.mode != mode:
        return None
    return hook


def webhook_json(hook: Webhook, now: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "webhook_id": hook.id,
        "callback_url": hook.callback_url,
        "subscriptions": hook.subscriptions,
        "status": "active" if hook.active else "inactive",
        "created_date": datetime_ms(hook.created_at),
        "signing_secret": hook.secret,
    }
    if hook.description is not None:
        body["description"] = hook.description
    if len(hook.live_secrets(now)) > 1 and hook.previous_until is not None:
        body["previous_secret_expires"] = datetime_ms(hook.previous_until)
    return body


async def rotate_secret(
    session: AsyncSession, service_id: uuid.UUID, mode: str, webhook_id: str, now: datetime
) -> Webhook | None:
    hook = await get(session, service_id, mode, webhook_id)
    if hook is not None:
        config.rotate(hook, now)
        await session.flush()
    return hook


async def messages(
    session: AsyncSession, hook: Webhook, *, status: str | None = None, limit: int = MESSAGES_PAGE
) -> Sequence[WebhookMessage]:
    """The webhook's messages, newest first (optionally of one status)."""
    stmt = select(WebhookMessage).where(WebhookMessage.webhook_id == hook.id)
    if status is not None:
        stmt = stmt.where(WebhookMessage.status == status)
    stmt = stmt.order_by(WebhookMessage.created_at.desc(), WebhookMessage.id.desc()).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def attempts(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    """Each message's attempts, oldest first."""
    found: dict[str, list[WebhookAttempt]] = {ident: [] for ident in message_ids}
    if message_ids:
        rows = await session.execute(
            select(WebhookAttempt).where(WebhookAttempt.message_id.in_(message_ids)).order_by(WebhookAttempt.id)
        )
        for row in rows.scalars():
            found[row.message_id].append(row)
    return found


async def delivery_log(
    session: AsyncSession, service_id: uuid.UUID, mode: str, webhook_id: str, *, status: str | None = None
) -> list[dict[str, Any]] | None:
    """The webhook's messages with their attempts, for the account's admins; None if it is not the account's."""
    hook = await get(session, service_id, mode, webhook_id)
    if hook is None:
        return None
    rows = await messages(session, hook, status=status)
    logged = await attempts(session, [row.id for row in rows])
    return [
        {
            "webhook_message_id": row.id,
            "event_type": row.event_type,
            "resource_id": row.payment_id,
            "status": row.status,
            "created_date": datetime_ms(row.created_at),
            "attempts": [attempt.as_json() for attempt in logged[row.id]],
        }
        for row in rows
    ]
