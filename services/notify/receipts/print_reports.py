"""The print provider's reports on letters (notify spec §16.5), applied like the other receipts (`service`): one
conditional update each, so a repeated or late report changes nothing and a final status moves on only where a
letter's life allows it.

- `printed` moves a `sending` letter to `delivered` (shown `received`);
- `rejected` moves a `sending` letter to `technical-failure` (the printer could not print it);
- `returned` moves a `sending` or `delivered` letter to `returned-letter` (Royal Mail brought it back, usually
  weeks after printing, so after its print confirmation) and owes the service its returned-letter callback (§14),
  recorded in the same transaction.

A report for a letter still `created` overtook the collation's commit: 409, and the provider posts it again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.jobs import transition
from gaap.logging import get_logger
from services.notify.callbacks import outbox as callbacks
from services.notify.notifications.models import Notification
from services.notify.receipts.schemas import LETTER_OUTCOMES, LetterReport, ReceiptAnswer
from services.notify.receipts.service import NotHandedOverYet

log = get_logger("notify.receipts")

#: The statuses each outcome may move a letter from.
MOVES_FROM = {
    "delivered": ("sending",),
    "technical-failure": ("sending",),
    "returned-letter": ("sending", "delivered"),
}


async def apply_letter_report(
    session: AsyncSession, provider: str, report: LetterReport, *, now: datetime
) -> ReceiptAnswer:
    """Apply the report to its letter, if `provider` is the one the letter was handed to."""
    try:
        ident: uuid.UUID | None = uuid.UUID(report.reference)
    except ValueError:
        ident = None  # not a reference notify gives
    row = None
    if ident is not None:
        found = await session.execute(
            select(Notification.status, Notification.notification_type, Notification.sent_by).where(
                Notification.id == ident
            )
        )
        row = found.first()
    if ident is None or row is None or row.notification_type != "letter" or row.sent_by != provider:
        log.warning("notify.receipts.ignored", provider=provider, reference=report.reference[:200])
        return ReceiptAnswer(notification_id=ident, result="ignored", status=None)
    if row.status == "created":
        raise NotHandedOverYet()
    outcome = LETTER_OUTCOMES[report.status]
    moved = await transition(
        session, Notification, ident, from_status=MOVES_FROM[outcome], to_status=outcome, updated_at=now
    )
    if not moved:
        return ReceiptAnswer(notification_id=ident, result="unchanged", status=row.status)
    if outcome == "returned-letter":
        await callbacks.record_returned_letter(session, ident)
    log.info("notify.receipts.applied", id=str(ident), provider=provider, status=outcome, reason=report.reason)
    return ReceiptAnswer(notification_id=ident, result="updated", status=outcome)
