"""Authorising a `moto_api` payment (pay spec §7), one status on each side of the provider call.

1. `start`: in a transaction of its own, committed before the call, the token is marked used and the payment
   moves `created` → `started` (`AUTHORISATION_READY`). No transaction stays open during the provider call.
2. The provider call (`payments.authorisation.call_provider`), with the card in memory only, under
   `PAY_AUTHORISATION_TIMEOUT_SECONDS`.
3. `finish`: the outcome, the kept card fields and the provider's ID, in the request's transaction (with the
   idempotency record). A crash between 1 and 3 leaves `AUTHORISATION_READY`, which the expiry sweep voids.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.accounts.models import Account
from services.pay.errors import PayError, pay_error
from services.pay.idempotency.service import Answer
from services.pay.payments import repository as payments_repo
from services.pay.payments.authorisation import (
    Attempt,
    Refusal,
    corporate_surcharge,
    kept_card_fields,
    outcome_trigger,
)
from services.pay.payments.authorisation import check_card as examine_card
from services.pay.payments.models import Payment
from services.pay.payments.states import Status, Trigger, move, public_state
from services.pay.payments.tokens import token_hash
from services.pay.provider.base import Card, CardInfo, CardProvider

INVALID_TOKEN = "The one_time_token is not a valid moto api token."
USED_TOKEN = "The one_time_token has already been used."
DECLINED = "The payment was rejected"
PROVIDER_ERROR = "There was an error authorising the payment"


def invalid_token() -> PayError:
    return pay_error(400, "P1211", INVALID_TOKEN)


def rejected(description: str) -> PayError:
    return pay_error(402, "P0010", description)


async def find_payment(db: Database, one_time_token: str) -> Payment:
    """The open `moto_api` payment the token belongs to; 400 P1211 otherwise (the token dies with the payment)."""
    async with db.read_session() as session:
        payment = await payments_repo.get_by_auth_token(session, token_hash(one_time_token))
        if payment is None or public_state(payment.status).finished:
            raise invalid_token()
        session.expunge(payment)
    return payment


REFUSALS = {
    Refusal.luhn_invalid: "The card_number is not a valid card number",
    Refusal.not_accepted: "The card type is not accepted for this account",
    Refusal.prepaid_blocked: "Prepaid cards are not accepted for this account",
}


def check_card(provider: CardProvider, account: Account, card: Card) -> CardInfo:
    """§7: a number that fails Luhn, or whose brand or type the account does not take, is 402 P0010."""
    checked = examine_card(provider, account, card.number)
    if checked.refusal is not None or checked.info is None:
        raise rejected(REFUSALS[checked.refusal or Refusal.not_accepted])
    return checked.info


async def start(db: Database, payment_id: str) -> None:
    """Use the token and move to `AUTHORISATION_READY`, committed at once; 400 P1212 if it was used already."""
    async with db.write_session() as session:
        taken = await session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.auth_token_used.is_(False))
            .values(auth_token_used=True)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise pay_error(400, "P1212", USED_TOKEN)
        payment = await payments_repo.get_by_id(session, payment_id)
        if payment is None or payment.status != Status.CREATED:
            raise invalid_token()
        if not await move(session, payment, Trigger.submit_authorisation):
            raise invalid_token()


async def finish(
    session: AsyncSession, payment_id: str, attempt: Attempt, card: Card, info: CardInfo, account: Account
) -> Answer:
    """Record the outcome; the answer is 204, 402 P0010 or 500 P0050 (§7)."""
    payment = await payments_repo.get_by_id(session, payment_id)
    assert payment is not None
    result = attempt.result
    values: dict[str, Any] = {
        **kept_card_fields(card, info),
        "provider_id": result.provider_id if result is not None else None,
    }
    on_authorised = Trigger.authorised_for_delayed_capture if payment.delayed_capture else Trigger.authorised
    trigger = outcome_trigger(attempt, on_authorised)
    if trigger == on_authorised:
        surcharge = corporate_surcharge(account, info)
        if surcharge:
            values["corporate_card_surcharge"] = surcharge
    now = utcnow()
    if trigger == Trigger.authorised:
        values["next_attempt_at"] = now  # the capture is due at once
    if not await move(session, payment, trigger, now=now, **values):
        return Answer.of_error(pay_error(500, "P0050", PROVIDER_ERROR))
    if trigger in (Trigger.authorised, Trigger.authorised_for_delayed_capture):
        return Answer(204)
    # Errors that are the outcome of the authorisation: committed with their state change, and recorded.
    if trigger == Trigger.declined:
        return Answer.of_error(rejected(DECLINED))
    return Answer.of_error(pay_error(500, "P0050", PROVIDER_ERROR))
