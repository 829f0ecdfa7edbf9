"""Authorising a web payment from its pages (pay spec §13.1, §13.5, §9.3).

A page waits for the provider for `PAY_PAGE_AUTH_WAIT_MS` (1000 ms) at most; if it has not answered by then, the
payer sees `auth_waiting` while the call carries on in the background, up to `PAY_AUTHORISATION_TIMEOUT_SECONDS`.
So the call runs in a task of its own that outlives the request (`Authorisations` holds it), and each side of it is
a committed status: `AUTHORISATION_READY` (or `AUTHORISATION_3DS_READY`) before, the outcome after. A process that
dies in between leaves the `*_READY` status, which the expiry sweep voids after its grace period.

The card number and CVC live only in the `Card` the task holds, for the length of the call (§13.6). 3-D Secure
needs no card after the first call: the provider keeps it, and the second call sends only the payer's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from gaap.db.engine import Database
from gaap.logging import get_logger
from services.pay.accounts.models import Account
from services.pay.agreements import service as agreements
from services.pay.pages.validation import AcceptedForm
from services.pay.payments import repository as repo
from services.pay.payments.authorisation import (
    Attempt,
    call_provider,
    corporate_surcharge,
    kept_card_fields,
    outcome_trigger,
)
from services.pay.payments.models import Payment
from services.pay.payments.states import Status, Trigger, move, target
from services.pay.provider.base import AuthorisationResult, CardProvider
from services.pay.settings import PaySettings

log = get_logger("pay.pages")


class Authorisations:
    """The provider calls the pages started, so none is garbage-collected mid-call and shutdown can wait for them."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Status | None]] = set()

    async def start(self, work: Coroutine[Any, Any, Status | None], wait_seconds: float) -> asyncio.Task[Status | None]:
        """Run `work` in the background and wait for it at most `wait_seconds`; the task, done or still running."""
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        await asyncio.wait({task}, timeout=wait_seconds)
        return task

    async def drain(self, seconds: float) -> None:
        """At shutdown: let calls in flight record their outcome."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=seconds)


async def _start(db: Database, payment_id: str, trigger: Trigger, **values: Any) -> Status | None:
    """The status before the call (returned), committed before the call is made; None if the payment had moved
    on."""
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, payment_id)
        to = target(trigger, payment.status) if payment is not None else None
        if payment is None or to is None or not await move(session, payment, trigger, **values):
            return None
    return to


async def _authorise_and_record(
    db: Database, payment_id: str, call: Callable[[], Awaitable[AuthorisationResult]], limit_seconds: float
) -> Status | None:
    """Call the provider, then record its outcome with a conditional update; the status it moved the payment to
    (None: the payment had moved on meanwhile, and nothing was recorded)."""
    try:
        attempt = await call_provider(call, limit_seconds)
    except Exception as exc:  # an adapter's bug must still end the authorisation (P0050), not leave it in flight
        log.error("provider authorisation failed", payment_id=payment_id, error=type(exc).__name__)
        attempt = Attempt(None)
    trigger = outcome_trigger(attempt, Trigger.authorised_for_confirmation)
    values: dict[str, Any] = {}
    if attempt.result is not None and attempt.result.provider_id is not None:
        values["provider_id"] = attempt.result.provider_id
    if trigger == Trigger.three_ds_required:
        values["three_ds_required"] = True
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, payment_id)
        if payment is None or target(trigger, payment.status) is None:
            log.warning("authorisation outcome arrived too late", payment_id=payment_id, outcome=trigger.value)
            return None
        to = target(trigger, payment.status)
        if not await move(session, payment, trigger, **values):
            return None
        if attempt.result and attempt.result.instrument_token:
            # The card the provider saved for a set-up payment's agreement, in use once the payment succeeds (§8).
            await agreements.save_pending_card(session, payment, attempt.result.instrument_token)
    return to


def _limits(settings: PaySettings) -> tuple[float, float]:
    return settings.authorisation_timeout_seconds, settings.page_auth_wait_ms / 1000


async def submit_card(
    state: Any, payment: Payment, account: Account, form: AcceptedForm, provider: CardProvider
) -> Status | None:
    """The card form was valid: keep the card fields (and billing address and email), move to
    `AUTHORISATION_READY`, and authorise the total (amount plus any corporate card surcharge). Returns the
    payment's status as this request left it (`AUTHORISATION_READY` while the provider has not answered within the
    page's wait), so the page can redirect without reading the payment again; None when it is not known (the
    payment had moved on), and the caller reads it."""
    surcharge = corporate_surcharge(account, form.info)
    values: dict[str, Any] = {
        **kept_card_fields(form.card, form.info),
        "billing_address": form.billing_address,
        "corporate_card_surcharge": surcharge or None,
    }
    if account.email_collection_mode != "OFF":
        values["email"] = form.email
    started = await _start(state.db, payment.id, Trigger.submit_authorisation, **values)
    if started is None:
        return None
    card, total = form.card, payment.amount + surcharge

    def call() -> Awaitable[AuthorisationResult]:
        return provider.authorise(
            payment_id=payment.id,
            amount=total,
            card=card,
            payer_present=True,
            save_card=payment.agreement_id is not None,  # a set-up payment (§8)
        )

    return await _authorise(state, payment.id, call, started)


async def submit_3ds(state: Any, payment: Payment, provider: CardProvider, *, authenticated: bool) -> Status | None:
    """The payer answered the (simulated) bank's challenge. One attempt: a second answer finds the payment moved
    on and changes nothing. Returns the status as `submit_card` does."""
    started = await _start(state.db, payment.id, Trigger.three_ds_submitted)
    if started is None:
        return None

    def call() -> Awaitable[AuthorisationResult]:
        return provider.authorise_3ds(
            payment_id=payment.id, provider_id=payment.provider_id, authenticated=authenticated
        )

    return await _authorise(state, payment.id, call, started)


async def _authorise(
    state: Any, payment_id: str, call: Callable[[], Awaitable[AuthorisationResult]], started: Status
) -> Status | None:
    """Run the provider call in the background: the status it recorded if it ended within the page's wait (None if
    it found the payment moved on), else the status `_start` recorded before it (`*_READY`: the waiting page)."""
    limit, wait = _limits(state.settings)
    task = await state.authorisations.start(_authorise_and_record(state.db, payment_id, call, limit), wait)
    if not task.done():
        return started
    return None if task.cancelled() or task.exception() is not None else task.result()
