"""Settling refunds (pay spec §6): the provider call happens after the commit that recorded the refund (the refund
row is the outbox). Success ends in `success`; a failure ends in `error` and gives the amount back to
`refunded_amount` in the same transaction. A refund whose payment's capture is still queued waits for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import JobQueue, Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from services.pay.deps import PROVIDER_LANE
from services.pay.payments import repository as payments_repo
from services.pay.payments.states import CAPTURING, Status
from services.pay.provider.base import CardProvider, ProviderError
from services.pay.refunds import repository as repo
from services.pay.refunds.models import ERROR, SUBMITTED, SUCCESS, Refund
from services.pay.settings import PaySettings
from services.pay.webhooks import outbox

log = get_logger("pay.refunds")
Ctx = dict[str, Any]

#: How long a refund waits before looking again at a payment whose capture is still queued.
CAPTURE_WAIT = timedelta(minutes=1)


async def submit_refund(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        claimed = await claim(session, Refund, ident, expected_status=SUBMITTED, lease=settings.provider_lease)
        if claimed is None:
            return
        payment = await payments_repo.get_by_id(session, claimed.payment_id)
        assert payment is not None
        status, provider_name, provider_id = payment.status, payment.provider, payment.provider_id
    if status in CAPTURING:
        when = utcnow() + CAPTURE_WAIT
        async with db.write_session() as session:
            await retry_at(
                session,
                Refund,
                ident,
                status=SUBMITTED,
                when=when,
                error="capture pending",
                expected_attempt=claimed.attempt,
            )
        jobs: JobQueue = ctx["jobs"]
        await jobs.enqueue("submit_refund", ident, lane=PROVIDER_LANE, defer_until=when)
        return
    succeeded = status == Status.CAPTURED
    if succeeded:
        provider: CardProvider = ctx["providers"][provider_name]
        try:
            await provider.refund(
                refund_id=claimed.id, payment_id=claimed.payment_id, provider_id=provider_id, amount=claimed.amount
            )
        except ProviderError as exc:
            log.warning("refund refused by the provider", refund_id=ident, error=str(exc)[:300])
            succeeded = False
    async with db.write_session() as session:
        moved = await transition(
            session,
            Refund,
            ident,
            from_status=SUBMITTED,
            to_status=SUCCESS if succeeded else ERROR,
            expected_attempt=claimed.attempt,
            updated_at=utcnow(),
        )
        if moved and not succeeded:
            await repo.add_to_refunded(session, claimed.payment_id, -claimed.amount)
        elif moved:
            # §12: `card_payment_refunded`, with the parent payment as its resource, in the refund's transaction.
            refunded = await payments_repo.get_by_id(session, claimed.payment_id)
            assert refunded is not None
            await outbox.record(session, refunded, [outbox.REFUNDED], utcnow())


def sweeps(grace: timedelta, every: timedelta) -> list[Sweep]:
    """Every `every`: re-queue refunds whose job was lost, once they are `grace` overdue."""
    return [Sweep("refunds", Refund, [SUBMITTED], "submit_refund", PROVIDER_LANE, grace, every=every)]
