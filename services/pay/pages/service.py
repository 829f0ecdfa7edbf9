"""The payer's journey through the payment pages (pay spec §13.1, §13.2): the token exchange, which page a payment's
status calls for, and the payer's confirm and cancel. Every status change goes through the one transition table
(`payments.states`), each in a transaction of its own that commits before the page answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.pages import PageError
from services.pay.accounts.models import Account
from services.pay.accounts.records import AccountRecords
from services.pay.pages.session import PaySession
from services.pay.payments import repository as repo
from services.pay.payments.models import Payment
from services.pay.payments.states import AUTHORISING, VOIDING, Status, Trigger, move, public_state, target
from services.pay.payments.tokens import token_hash
from services.pay.receipts import service as receipts

#: A payment the payer can still enter card details for (`CREATED` only until its token is exchanged).
ENTERING = (Status.CREATED, Status.ENTERING_CARD_DETAILS)
#: The outcome page each finished (or payer-confirmed) payment shows, by `state.code`.
OUTCOMES = {
    "P0010": "declined",
    "P0020": "expired",
    "P0030": "user_cancelled",
    "P0040": "service_cancelled",
    "P0050": "error",
}


@dataclass(frozen=True)
class Exchange:
    """A token exchanged (`session` set: redirect to the payment's page) or refused because another browser used
    it (`session` None: the expired-link page, in the payment's language)."""

    payment: Payment
    account: Account
    session: PaySession | None


async def load_payment(db: Database, payment_id: str) -> Payment | None:
    """A `web` payment (the only kind with payment pages), read without a lock."""
    async with db.read_session() as session:
        payment = await repo.get_by_id(session, payment_id)
        if payment is None or payment.authorisation_mode != "web":
            return None
        session.expunge(payment)
    return payment


async def exchange(db: Database, accounts: AccountRecords, token: str, browser: PaySession | None) -> Exchange:
    """§13.2: an unused token is marked used by this browser's session (created if it has none), the payment joins
    the session and `created` becomes `started`. A used token works again only for the session that used it, while
    that session still holds the payment. An unknown token is the 404 page."""
    digest = token_hash(token)
    async with db.write_session() as session:
        row = await repo.get_next_url_token(session, digest)
        payment = await repo.get_by_id(session, row.payment_id) if row is not None else None
        if row is None or payment is None or payment.authorisation_mode != "web":
            raise PageError(status_code=404)
        exchanged: PaySession | None = None
        if row.used:
            if browser is not None and row.used_by == browser.fingerprint and browser.holds(payment.id):
                exchanged = browser
        else:
            fresh = browser or PaySession.new()
            if await repo.use_next_url_token(session, digest, fresh.fingerprint):
                exchanged = fresh.with_payment(payment.id)
                if target(Trigger.payer_started, payment.status) is not None:
                    await move(session, payment, Trigger.payer_started)
        session.expunge(payment)
    return Exchange(payment, await accounts.account(payment.service_id, payment.mode), exchanged)


def outcome_of(payment: Payment, status: str | None = None) -> str | None:
    """The outcome page of a payment the payer is done with: `paid` once confirmed (`success` or `capturable`),
    else the failure by its code; None while the payer still has something to do. `status`: the payment's status
    if it has moved on since `payment` was read."""
    state = public_state(status or payment.status)
    if state.status in ("success", "capturable"):
        return "paid"
    return OUTCOMES.get(state.code or "")


def page_for(payment: Payment, account: Account, status: str | None = None) -> str:
    """The page the payment's status calls for (`status` if this request has moved it on since it was read); a
    payer arriving anywhere else is sent there (§13.1)."""
    home = f"/card_details/{payment.id}"
    status = Status(status or payment.status)
    if status in AUTHORISING:
        return f"{home}/auth_waiting"
    if status == Status.AUTHORISATION_3DS_REQUIRED:
        return f"{home}/3ds_required"
    if status == Status.AUTHORISATION_SUCCESS:
        return f"{home}/confirm"
    if outcome_of(payment, status) is not None and account.redirect_to_service_immediately_on_terminal_state:
        return f"/return/{payment.id}"
    return home


async def confirm(db: Database, payment_id: str, *, confirmation_emails: bool) -> tuple[Payment, bool, bool]:
    """The payer confirms a `submitted` payment: `success` with the capture due at once, or `capturable` for a
    delayed-capture payment; with `confirmation_emails` (pay has a Notify key), the confirmation email joins the
    outbox in the same transaction (§13.1). Returns the payment, whether this request confirmed it (a second click
    does not) and whether an email is due."""
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, payment_id)
        assert payment is not None
        trigger = Trigger.payer_confirmed_for_delayed_capture if payment.delayed_capture else Trigger.payer_confirmed
        moved = emailing = False
        if target(trigger, payment.status) is not None:
            now = utcnow()
            extra: dict[str, Any] = {} if payment.delayed_capture else {"next_attempt_at": now}
            moved = await move(session, payment, trigger, now=now, **extra)
            if moved and confirmation_emails:
                emailing = await receipts.record(session, payment, now)
        session.expunge(payment)
    return payment, moved, emailing


async def cancel(db: Database, payment_id: str) -> tuple[Payment, bool]:
    """The payer presses Cancel: `failed` P0030, voiding an authorisation first when one exists. Returns the
    payment and whether a void is due. During an authorisation nothing changes (the page says to wait)."""
    async with db.write_session() as session:
        payment = await repo.get_by_id(session, payment_id)
        assert payment is not None
        to = target(Trigger.payer_cancel, payment.status)
        voiding = False
        if to is not None:
            now = utcnow()
            voiding = to in VOIDING
            extra: dict[str, Any] = {"next_attempt_at": now} if voiding else {}
            voiding = await move(session, payment, Trigger.payer_cancel, now=now, **extra) and voiding
        session.expunge(payment)
    return payment, voiding
