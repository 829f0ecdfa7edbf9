"""The agreement work the worker does (pay spec §8), each step a leased claim plus conditional updates:

- `authorise_recurring`: a recurring payment, `created` → `started` (`AUTHORISATION_USER_NOT_PRESENT_QUEUED`),
  authorised against the agreement's stored card with nobody present: `success` (capture queued), `failed` P0010
  with the provider's `can_retry`, or `error` P0050 (no answer within `PAY_AUTHORISATION_TIMEOUT_SECONDS`);
- `delete_instrument`: a card whose agreement was cancelled, made inactive or given a new card, or whose set-up
  payment did not succeed, deleted at the provider (5 attempts, then `DELETE_FAILED`, logged).

No transaction is open during a provider call; the call carries the payment ID as its reference. A recurring
payment whose agreement stopped being `active` after it was created is declined without a provider call, with
`can_retry: false`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Enqueue, JobQueue, Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from services.pay.agreements import repository as repo
from services.pay.agreements.models import ACTIVE, DELETE_FAILED, DELETE_READY, DELETED, IN_USE, PaymentInstrument
from services.pay.deps import PROVIDER_LANE
from services.pay.payments import repository as payments_repo
from services.pay.payments.authorisation import Attempt, call_provider, outcome_trigger
from services.pay.payments.models import Payment
from services.pay.payments.states import Status, Trigger, move
from services.pay.provider.base import AuthorisationResult, CardProvider, Outcome, ProviderError, StoredInstrument
from services.pay.settings import PaySettings

log = get_logger("pay.agreements")
Ctx = dict[str, Any]
QUEUED = Status.AUTHORISATION_USER_NOT_PRESENT_QUEUED
DELETE_MAX_ATTEMPTS = 5
DELETE_RETRY = timedelta(minutes=1)
SWEEP_BATCH = 500
CARD_FIELDS = ("card_brand", "card_type", "first_digits", "last_digits", "cardholder_name", "card_expiry")


async def authorise_recurring(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        payment = await payments_repo.get_by_id(session, ident)
        if payment is None or payment.authorisation_mode != "agreement":
            return
        if payment.status == Status.CREATED:
            await move(session, payment, Trigger.recurring_queued)
        claimed = await claim(session, Payment, ident, expected_status=[QUEUED], lease=settings.provider_lease)
    if claimed is None:
        return
    async with db.read_session() as session:
        agreement = await repo.get_by_id(session, claimed.agreement_id or "")
        usable = agreement is not None and agreement.status == ACTIVE
        instrument = await repo.instrument(session, agreement.instrument_id) if usable and agreement else None
        if instrument is not None:
            session.expunge(instrument)  # read after the session ends
    if instrument is None or instrument.status != IN_USE:
        attempt = Attempt(AuthorisationResult(Outcome.declined, can_retry=False))
    else:
        provider: CardProvider = ctx["providers"][claimed.provider]
        stored = StoredInstrument(instrument.token, instrument.first_digits, instrument.last_digits)
        attempt = await _call(provider, claimed.id, claimed.amount, stored, settings.authorisation_timeout_seconds)
    await _record(ctx, claimed.id, claimed.attempt, attempt, instrument)


async def _call(
    provider: CardProvider, payment_id: str, amount: int, stored: StoredInstrument, limit: float
) -> Attempt:
    try:
        attempt = await call_provider(
            lambda: provider.authorise_stored(payment_id=payment_id, amount=amount, instrument=stored), limit
        )
    except Exception as exc:  # an adapter's bug must still end the payment (P0050), not leave it queued
        log.error("recurring authorisation failed", payment_id=payment_id, error=type(exc).__name__)
        return Attempt(None)
    if attempt.result is not None and attempt.result.outcome == Outcome.three_ds_required:
        log.error("provider asked a recurring payment for 3-D Secure", payment_id=payment_id)
        return Attempt(None)  # nobody is present to answer a challenge
    return attempt


async def _record(
    ctx: Ctx, payment_id: str, fence: int, attempt: Attempt, instrument: PaymentInstrument | None
) -> None:
    db: Database = ctx["db"]
    trigger = outcome_trigger(attempt, Trigger.authorised)
    result = attempt.result
    now = utcnow()
    values: dict[str, Any] = {}
    if instrument is not None:
        values |= {name: getattr(instrument, name) for name in CARD_FIELDS}
        values["billing_address"] = instrument.billing_address
    if result is not None and result.provider_id is not None:
        values["provider_id"] = result.provider_id
    if trigger == Trigger.declined:
        # A decline that says nothing leaves the agreement usable: the service decides when to try again.
        values["can_retry"] = result.can_retry if result is not None and result.can_retry is not None else True
    if trigger == Trigger.authorised:
        values["next_attempt_at"] = now  # the capture is due at once
    async with db.write_session() as session:
        payment = await payments_repo.get_by_id(session, payment_id)
        assert payment is not None
        moved = await move(session, payment, trigger, expected_attempt=fence, now=now, **values)
    if moved and trigger == Trigger.authorised:
        jobs: JobQueue = ctx["jobs"]
        await jobs.enqueue("capture_payment", payment_id, lane=PROVIDER_LANE)


async def delete_instrument(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        claimed = await claim(
            session, PaymentInstrument, ident, expected_status=[DELETE_READY], lease=settings.provider_lease
        )
    if claimed is None:
        return
    provider: CardProvider = ctx["providers"][claimed.provider]
    try:
        await provider.delete_instrument(instrument_id=claimed.id, token=claimed.token)
    except ProviderError as exc:
        await _retry_delete(ctx, claimed, str(exc))
        return
    async with db.write_session() as session:
        await transition(
            session,
            PaymentInstrument,
            claimed.id,
            from_status=DELETE_READY,
            to_status=DELETED,
            expected_attempt=claimed.attempt,
        )


async def _retry_delete(ctx: Ctx, claimed: PaymentInstrument, error: str) -> None:
    db: Database = ctx["db"]
    if claimed.attempt >= DELETE_MAX_ATTEMPTS:
        async with db.write_session() as session:
            await transition(
                session,
                PaymentInstrument,
                claimed.id,
                from_status=DELETE_READY,
                to_status=DELETE_FAILED,
                expected_attempt=claimed.attempt,
            )
        log.warning("stored card deletion abandoned", instrument_id=claimed.id, error=error[:300])
        return
    when = utcnow() + DELETE_RETRY * claimed.attempt
    async with db.write_session() as session:
        await retry_at(
            session,
            PaymentInstrument,
            claimed.id,
            status=DELETE_READY,
            when=when,
            error=error,
            expected_attempt=claimed.attempt,
        )
    jobs: JobQueue = ctx["jobs"]
    await jobs.enqueue("delete_instrument", claimed.id, lane=PROVIDER_LANE, defer_until=when)


async def requeue_recurring(ctx: Ctx, *, now: datetime | None = None) -> int:
    """Recurring payments whose job was lost (Redis restarted, a worker died) are queued again once they are
    `PAY_OVERDUE_GRACE_SECONDS` overdue (a payment a worker holds has its lease in the future); returns how many."""
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    jobs: JobQueue = ctx["jobs"]
    before = (now or utcnow()) - settings.overdue_grace
    async with db.read_session() as session:
        ids = await repo.overdue_recurring(session, [Status.CREATED.value, QUEUED.value], before, SWEEP_BATCH)
    if ids:
        await jobs.enqueue_many([Enqueue("authorise_recurring", payment_id, PROVIDER_LANE) for payment_id in ids])
    return len(ids)


async def requeue_recurring_job(ctx: Ctx) -> None:
    await requeue_recurring(ctx)


def sweeps(grace: timedelta, every: timedelta) -> list[Sweep]:
    """Stored-card deletions whose job was lost: the relay for the deletions `lifecycle` decides in a payment's
    transaction, which holds no queue."""
    return [
        Sweep(
            "delete-instrument",
            PaymentInstrument,
            [DELETE_READY],
            "delete_instrument",
            PROVIDER_LANE,
            grace,
            every=every,
        )
    ]
