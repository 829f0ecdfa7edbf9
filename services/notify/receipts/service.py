"""Applying a provider's receipt (notify spec §16.5): one conditional update from `sending` (or `pending`) to the
outcome, so a repeated receipt, one that arrives after the 72-hour timeout, or two racing each other change the row
at most once, and a final status never moves back. Email and SMS receipts differ only in how they name the
notification and word the outcome; `apply_receipts` is the rule both follow.

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

Receipts may come one at a time or as a batch (a JSON array, as SendGrid's event webhook posts them). A batch is
applied in one transaction with a few statements whatever its size: one read of the rows it names, one conditional
UPDATE per outcome, one read of where they ended, one outbox write. At a thousand emails a second, one request and
one commit per receipt cost more than sending the emails did (docs/benchmarks.md, "Delivery"). Within a batch,
receipts for one notification apply in the order given, exactly as if they had been posted one after another. A
receipt that overtook the worker is answered `retry` in a batch (409 when alone) and is posted again.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.errors import Conflict
from gaap.jobs.leases import status_in
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


@dataclass(frozen=True, slots=True)
class Outcome:
    """One receipt, read: the notification it names (None: not one notify sent), the status it reports in §16.5's
    words, and the provider's reference (for the log)."""

    ident: uuid.UUID | None
    outcome: str
    reference: str


def _move(outcome: str) -> tuple[tuple[str, ...], Any]:
    """(the statuses `outcome` may move a row from, the status to write: a value or a CASE on the row's own)."""
    if outcome == "pending":
        return ("sending",), "pending"
    if outcome == "permanent-failure":
        declined = case((Notification.status == "pending", "temporary-failure"), else_="permanent-failure")
        return AWAITING_RECEIPT, declined
    return AWAITING_RECEIPT, outcome


async def apply_receipts(
    session: AsyncSession, *, channel: str, provider: str, receipts: Sequence[Outcome], now: datetime
) -> list[ReceiptAnswer]:
    """Apply each receipt to its notification of `channel`, if `provider` is the one that was given it; one answer
    per receipt, in order."""
    named = {r.ident for r in receipts if r.ident is not None}
    rows = {}
    if named:
        found = await session.execute(
            select(Notification.id, Notification.status, Notification.notification_type, Notification.sent_by).where(
                Notification.id.in_(list(named))
            )
        )
        rows = {row.id: row for row in found}
    # The receipts to try, in rounds: a notification's first receipt in round 0, its second in round 1, and so on,
    # so two receipts for one notification (`pending`, then `delivered`) apply in the order given. Within a round
    # each notification appears once, so one UPDATE per outcome applies a round.
    rounds: list[dict[str, list[uuid.UUID]]] = []
    verdicts: list[str | int] = []  # "ignored", "retry", or the round the receipt is tried in
    tries: Counter[uuid.UUID] = Counter()
    for receipt in receipts:
        row = rows.get(receipt.ident) if receipt.ident is not None else None
        if row is None or row.notification_type != channel or row.sent_by not in (provider, None):
            log.warning("notify.receipts.ignored", provider=provider, reference=receipt.reference[:200])
            verdicts.append("ignored")
        elif row.status == "created":
            verdicts.append("retry")
        else:
            assert receipt.ident is not None
            turn = tries[receipt.ident]
            tries[receipt.ident] += 1
            if turn == len(rounds):
                rounds.append({})
            rounds[turn].setdefault(receipt.outcome, []).append(receipt.ident)
            verdicts.append(turn)
    moved_by: dict[tuple[int, str], set[uuid.UUID]] = {}
    for turn, groups in enumerate(rounds):
        for outcome, idents in groups.items():
            from_statuses, to_status = _move(outcome)
            changed = await session.execute(
                update(Notification)
                .where(Notification.id.in_(idents), status_in(Notification, from_statuses))
                .values(status=to_status, updated_at=now)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
            moved_by[turn, outcome] = set(changed.scalars())
    moved = set().union(*moved_by.values())
    statuses = await _statuses(session, named) if named else {}
    # A final status owes its callback; `pending` does not (§16.5). `record` picks the final ones.
    await callbacks.record(session, *moved)
    answers: list[ReceiptAnswer] = []
    for receipt, verdict in zip(receipts, verdicts, strict=True):
        ident = receipt.ident
        if verdict == "ignored" or ident is None:
            answers.append(ReceiptAnswer(notification_id=ident, result="ignored", status=None))
        elif verdict == "retry":
            answers.append(ReceiptAnswer(notification_id=ident, result="retry", status=statuses.get(ident)))
        else:
            updated = ident in moved_by[int(verdict), receipt.outcome]
            result = "updated" if updated else "unchanged"
            answers.append(ReceiptAnswer(notification_id=ident, result=result, status=statuses.get(ident)))
    if moved:
        log.info(
            "notify.receipts.applied",
            provider=provider,
            updated=len(moved),
            received=len(receipts),
            id=str(next(iter(moved))) if len(moved) == 1 else None,
        )
    return answers


async def apply_receipt(
    session: AsyncSession, *, channel: str, provider: str, receipt: Outcome, now: datetime
) -> ReceiptAnswer:
    """One receipt on its own: as in a batch, but one that overtook the worker is a 409 (`NotHandedOverYet`)."""
    [answer] = await apply_receipts(session, channel=channel, provider=provider, receipts=[receipt], now=now)
    if answer.result == "retry":
        raise NotHandedOverYet()
    return answer


async def apply_email_receipt(
    session: AsyncSession, provider: str, receipt: EmailReceipt, *, email_domain: str, now: datetime
) -> ReceiptAnswer:
    outcome = email_outcome(receipt, email_domain)
    return await apply_receipt(session, channel="email", provider=provider, receipt=outcome, now=now)


async def apply_sms_receipt(
    session: AsyncSession, provider: str, receipt: SmsReceipt, *, now: datetime
) -> ReceiptAnswer:
    return await apply_receipt(session, channel="sms", provider=provider, receipt=sms_outcome(receipt), now=now)


def email_outcome(receipt: EmailReceipt, email_domain: str) -> Outcome:
    return Outcome(
        ident=notification_id_of(receipt.message_id, email_domain),
        outcome=EMAIL_OUTCOMES[receipt.status],
        reference=receipt.message_id,
    )


def sms_outcome(receipt: SmsReceipt) -> Outcome:
    try:
        ident: uuid.UUID | None = uuid.UUID(receipt.reference)
    except ValueError:
        ident = None  # not a reference notify gives
    return Outcome(ident=ident, outcome=SMS_OUTCOMES[receipt.status], reference=receipt.reference)


async def _statuses(session: AsyncSession, idents: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = await session.execute(select(Notification.id, Notification.status).where(Notification.id.in_(list(idents))))
    return {row.id: row.status for row in found}
