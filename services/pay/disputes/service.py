"""A dispute's life (pay spec §10): raised with the capture that the provider will dispute, opened, reviewed and
decided by the worker's `disputes` job, and shown as GOV.UK Pay shows it.

Each step is its own transaction and a conditional UPDATE on the status it expects, so two workers running the job
at once (or one running it twice) move a dispute once. A dispute changes no payment status, so it adds nothing to
the payment's `/events` (§5.3, one event per change of public status) and sends no webhook (§12 lists no dispute
event); while it is open or lost, the payment cannot be refunded (§6).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.logging import get_logger
from services.pay.disputes import repository as repo
from services.pay.disputes.models import LOST, NEEDS_RESPONSE, OPENING, UNDER_REVIEW, WON, Dispute
from services.pay.formats import datetime_ms, iso_date
from services.pay.ids import new_id
from services.pay.payments.models import Payment
from services.pay.payments.representation import Origins, link
from services.pay.provider.base import CardProvider
from services.pay.settings import PaySettings

log = get_logger("pay.disputes")
BATCH = 500


async def expect(
    session: AsyncSession, provider: CardProvider, payment: Payment, settings: PaySettings, captured_at: datetime
) -> Dispute | None:
    """In the transaction that records a capture: the dispute the provider says will follow it, if any. It opens
    `PAY_SANDBOX_DISPUTE_OPEN_SECONDS` later; its `created_date` and evidence deadline are fixed now."""
    scenario = provider.dispute_after_capture(first_digits=payment.first_digits, last_digits=payment.last_digits)
    if scenario is None:
        return None
    opens = captured_at + timedelta(seconds=settings.sandbox_dispute_open_seconds)
    dispute = Dispute(
        id=new_id(),
        payment_id=payment.id,
        service_id=payment.service_id,
        mode=payment.mode,
        amount=payment.total,
        reason=scenario.reason,
        status=OPENING,
        opened_at=opens,
        evidence_due_at=opens + scenario.evidence_window,
        outcome=scenario.outcome,
        outcome_fee=scenario.fee,
        next_step_at=opens,
        created_at=captured_at,
        updated_at=captured_at,
    )
    session.add(dispute)
    await session.flush()
    return dispute


def _next(dispute: Dispute, settings: PaySettings, now: datetime) -> dict[str, Any] | None:
    """The values of the dispute's next step, or None if it has none."""
    if dispute.status == OPENING:
        return {
            "status": NEEDS_RESPONSE,
            "next_step_at": now + timedelta(seconds=settings.sandbox_dispute_review_seconds),
        }
    if dispute.status == NEEDS_RESPONSE:
        return {
            "status": UNDER_REVIEW,
            "next_step_at": now + timedelta(seconds=settings.sandbox_dispute_decide_seconds),
        }
    if dispute.status != UNDER_REVIEW:
        return None
    if dispute.outcome == WON:
        return {"status": WON, "next_step_at": None}
    lost: dict[str, Any] = {"status": LOST, "next_step_at": None, "settled_date": now.date()}
    if dispute.outcome_fee is not None:
        lost.update(fee=dispute.outcome_fee, net_amount=-(dispute.amount + dispute.outcome_fee))
    return lost


async def progress(db: Database, settings: PaySettings, *, now: datetime | None = None) -> int:
    """Move every due dispute on by one step, one transaction each; returns how many moved."""
    now = now or utcnow()
    moved = 0
    while True:
        async with db.read_session() as session:
            due = await repo.due(session, now, BATCH)
        progressed = False
        for dispute_id, _status in due:
            async with db.write_session() as session:
                dispute = await session.get(Dispute, dispute_id)
                values = _next(dispute, settings, now) if dispute is not None else None
                if dispute is None or values is None:
                    continue
                if await repo.step(session, dispute.id, expected=dispute.status, now=now, **values):
                    moved += 1
                    progressed = True
                    log.info(
                        "dispute moved", dispute_id=dispute.id, payment_id=dispute.payment_id, status=values["status"]
                    )
        if len(due) < BATCH or not progressed:
            break
    return moved


async def progress_job(ctx: dict[str, Any]) -> None:
    await progress(ctx["db"], ctx["settings"])


def dispute_json(dispute: Dispute, origins: Origins) -> dict[str, Any]:
    """The §10 item: `fee` and `net_amount` only where the provider reported them, `settlement_summary` only for
    a settled (lost) dispute."""
    assert dispute.opened_at is not None
    assert dispute.evidence_due_at is not None
    body: dict[str, Any] = {
        "dispute_id": dispute.id,
        "payment_id": dispute.payment_id,
        "amount": dispute.amount,
        "created_date": datetime_ms(dispute.opened_at),
        "evidence_due_date": datetime_ms(dispute.evidence_due_at),
        "reason": dispute.reason,
        "status": dispute.status,
        "_links": {"payment": link(origins.payment(dispute.payment_id))},
    }
    if dispute.fee is not None:
        body["fee"] = dispute.fee
    if dispute.net_amount is not None:
        body["net_amount"] = dispute.net_amount
    if dispute.settled_date is not None:
        body["settlement_summary"] = {"settled_date": iso_date(dispute.settled_date)}
    return body
