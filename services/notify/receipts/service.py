"""Applying an email receipt (notify spec §16.5): one conditional update from `sending` (or `pending`) to the
outcome, so a repeated receipt, one that arrives after the 72-hour timeout, or two racing each other change the row
at most once, and a final status never moves back.

A receipt can overtake the worker: the relay answers DATA and posts its receipt while the worker has yet to commit
`sending`. The row is then still `created`, and the receipt is answered 409 so the provider posts it again (every
provider retries a webhook that did not answer 2xx); by then the row is `sending`. GOV.UK Notify retries the same
way when a receipt finds no notification with its reference yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.errors import Conflict
from gaap.jobs import transition
from gaap.logging import get_logger
from services.notify.inbox.service import notification_id_of
from services.notify.notifications.models import Notification
from services.notify.receipts.schemas import EMAIL_OUTCOMES, EmailReceipt, ReceiptAnswer

log = get_logger("notify.receipts")

#: The statuses a receipt may move a notification from.
AWAITING_RECEIPT = ("sending", "pending")


class NotHandedOverYet(Conflict):
    code = "NotHandedOverYet"
    message = "The notification has not been recorded as handed over yet; send the receipt again later"


async def apply_email_receipt(
    session: AsyncSession, provider: str, receipt: EmailReceipt, *, email_domain: str, now: datetime
) -> ReceiptAnswer:
    ident = notification_id_of(receipt.message_id, email_domain)
    row = None
    if ident is not None:
        found = await session.execute(
            select(Notification.status, Notification.notification_type, Notification.sent_by).where(
                Notification.id == ident
            )
        )
        row = found.first()
    if ident is None or row is None or row.notification_type != "email" or row.sent_by not in (provider, None):
        log.warning("notify.receipts.ignored", provider=provider, message_id=receipt.message_id[:200])
        return ReceiptAnswer(notification_id=ident, result="ignored", status=None)
    if row.status == "created":
        raise NotHandedOverYet()
    outcome = EMAIL_OUTCOMES[receipt.status]
    moved = await transition(
        session, Notification, ident, from_status=AWAITING_RECEIPT, to_status=outcome, updated_at=now
    )
    if not moved:
        return ReceiptAnswer(notification_id=ident, result="unchanged", status=await _status(session, ident))
    log.info("notify.receipts.applied", id=str(ident), provider=provider, status=outcome)
    return ReceiptAnswer(notification_id=ident, result="updated", status=outcome)


async def _status(session: AsyncSession, ident: uuid.UUID) -> str | None:
    status: str | None = await session.scalar(select(Notification.status).where(Notification.id == ident))
    return status
