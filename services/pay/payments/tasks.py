"""The payment work the worker does (pay spec §9.2, §9.3), each step a leased claim plus conditional updates:

- `capture_payment`: the provider capture behind `success` (26 attempts an hour apart, then `error` P0050);
- `void_payment`: releasing an authorisation that a cancel or an expiry left behind;
- `expire_payments` (every minute): 90 minutes for unfinished payments, 120 hours for `capturable` ones;
- `purge_next_url_tokens` (hourly): token rows past their retention.

No transaction is open during a provider call; the call carries the payment ID as its reference, so a provider
can drop the duplicate that a lease expiry may cause (docs/jobs.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import JobQueue, Sweep, claim, retry_at
from gaap.logging import get_logger
from services.pay.deps import PROVIDER_LANE
from services.pay.disputes import service as disputes
from services.pay.payments import repository as repo
from services.pay.payments.models import Payment
from services.pay.payments.states import AUTHORISING, AWAITING_PAYER, CAPTURING, VOIDING, Status, Trigger, move, target
from services.pay.provider.base import CardProvider, ProviderError
from services.pay.settings import PaySettings

log = get_logger("pay.payments")
Ctx = dict[str, Any]

# A claim's lease (longer than any provider call, so a slow call is never joined by a second worker) and how far
# past its due time a row must be before the sweeper takes its job for lost are `PaySettings.provider_lease` and
# `PaySettings.overdue_grace`.
VOID_MAX_ATTEMPTS = 5
VOID_RETRY = timedelta(minutes=1)
EXPIRY_BATCH = 500


def _provider(ctx: Ctx, payment: Payment) -> CardProvider:
    provider: CardProvider = ctx["providers"][payment.provider]
    return provider


async def _retry_or_fail(
    ctx: Ctx,
    claimed: Payment,
    *,
    task: str,
    when: datetime,
    error: str,
    give_up: bool,
    retry: Trigger | None,
    fail: Trigger,
) -> None:
    """After a failed provider call: the `fail` trigger once attempts run out, else the retry, queued for `when`."""
    db: Database = ctx["db"]
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, claimed.id)
        assert payment is not None
        if give_up:
            await move(session, payment, fail, expected_attempt=claimed.attempt)
            log.warning("payment provider call abandoned", task=task, payment_id=claimed.id, error=error[:300])
            return
        if retry is not None and target(retry, payment.status) is not None:
            await move(session, payment, retry, expected_attempt=claimed.attempt, next_attempt_at=when)
        else:
            await retry_at(
                session,
                Payment,
                payment.id,
                status=payment.status,
                when=when,
                error=error,
                expected_attempt=claimed.attempt,
            )
    jobs: JobQueue = ctx["jobs"]
    await jobs.enqueue(task, claimed.id, lane=PROVIDER_LANE, defer_until=when)


async def capture_payment(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        claimed = await claim(session, Payment, ident, expected_status=list(CAPTURING), lease=settings.provider_lease)
    if claimed is None:
        return
    submitted = utcnow()
    try:
        await _provider(ctx, claimed).capture(
            payment_id=claimed.id, provider_id=claimed.provider_id, amount=claimed.total
        )
    except ProviderError as exc:
        await _retry_or_fail(
            ctx,
            claimed,
            task="capture_payment",
            when=utcnow() + timedelta(seconds=settings.capture_retry_seconds),
            error=str(exc),
            give_up=claimed.attempt >= settings.capture_max_attempts,
            retry=Trigger.capture_retry,
            fail=Trigger.capture_failed,
        )
        return
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, ident)
        assert payment is not None
        captured = await move(
            session,
            payment,
            Trigger.captured,
            expected_attempt=claimed.attempt,
            capture_submitted_at=submitted,
            captured_date=submitted.date(),
        )
        if captured:
            await disputes.expect(session, _provider(ctx, claimed), payment, settings, submitted)


async def void_payment(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        claimed = await claim(session, Payment, ident, expected_status=list(VOIDING), lease=settings.provider_lease)
    if claimed is None:
        return
    try:
        await _provider(ctx, claimed).void(payment_id=claimed.id, provider_id=claimed.provider_id)
    except ProviderError as exc:
        await _retry_or_fail(
            ctx,
            claimed,
            task="void_payment",
            when=utcnow() + VOID_RETRY * claimed.attempt,
            error=str(exc),
            give_up=claimed.attempt >= VOID_MAX_ATTEMPTS,
            retry=None,
            fail=Trigger.void_failed,
        )
        return
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, ident)
        assert payment is not None
        await move(session, payment, Trigger.voided, expected_attempt=claimed.attempt)


@dataclass(frozen=True)
class ExpiryRule:
    """Payments in `statuses` created before `created_before` (and unchanged since `updated_before`) expire."""

    statuses: Sequence[Status]
    created_before: datetime
    updated_before: datetime | None = None

    def applies(self, payment: Payment) -> bool:
        return (
            payment.status in self.statuses
            and payment.created_at < self.created_before
            and (self.updated_before is None or payment.updated_at < self.updated_before)
        )


def expiry_rules(settings: PaySettings, now: datetime) -> list[ExpiryRule]:
    lifetime = now - timedelta(seconds=settings.payment_lifetime_seconds)
    return [
        ExpiryRule(AWAITING_PAYER, lifetime),
        # An authorisation in progress gets a grace period after its last change (§9.3).
        ExpiryRule(AUTHORISING, lifetime, now - timedelta(seconds=settings.authorisation_grace_seconds)),
        ExpiryRule([Status.AWAITING_CAPTURE_REQUEST], now - timedelta(seconds=settings.capture_window_seconds)),
    ]


async def expire_payments(ctx: Ctx, *, now: datetime | None = None) -> int:
    """Expire what is due, one transaction per payment; returns how many expired. An authorisation that may
    exist is voided afterwards by `void_payment`."""
    db: Database = ctx["db"]
    jobs: JobQueue = ctx["jobs"]
    now = now or utcnow()
    expired = 0
    for rule in expiry_rules(ctx["settings"], now):
        while True:
            async with db.read_session() as session:
                ids = await repo.ids_in(
                    session,
                    [s.value for s in rule.statuses],
                    created_before=rule.created_before,
                    updated_before=rule.updated_before,
                    limit=EXPIRY_BATCH,
                )
            progressed = False
            for payment_id in ids:
                voiding = False
                async with db.write_session() as session:
                    payment = await repo.get_by_id(session, payment_id)
                    if payment is None or not rule.applies(payment):
                        continue  # it moved on since the read
                    voiding = target(Trigger.expire, payment.status) in VOIDING
                    extra: dict[str, Any] = {"next_attempt_at": now} if voiding else {}
                    if await move(session, payment, Trigger.expire, now=now, **extra):
                        expired += 1
                        progressed = True
                if voiding:
                    await jobs.enqueue("void_payment", payment_id, lane=PROVIDER_LANE)
            if len(ids) < EXPIRY_BATCH or not progressed:
                break
    if expired:
        log.info("payments expired", count=expired)
    return expired


async def expire_job(ctx: Ctx) -> None:
    await expire_payments(ctx)


async def purge_next_url_tokens(ctx: Ctx) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        await repo.purge_next_url_tokens(session, utcnow() - timedelta(seconds=settings.token_retention_seconds))


def sweeps(grace: timedelta, every: timedelta) -> list[Sweep]:
    """Every `every`: re-queue provider calls whose job was lost (Redis restarted, a worker crashed), once they are
    `grace` overdue."""
    capturing, voiding = [s.value for s in CAPTURING], [s.value for s in VOIDING]
    return [
        Sweep("capture", Payment, capturing, "capture_payment", PROVIDER_LANE, grace, every=every),
        Sweep("void", Payment, voiding, "void_payment", PROVIDER_LANE, grace, every=every),
    ]
