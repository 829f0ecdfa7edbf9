"""Authorising a card, shared by MOTO by API (pay spec §7) and the payment pages (§13): whether the account takes
the card, the provider call under its time limit, which transition its outcome triggers, and the card fields kept.

Each caller words a refusal its own way (`/v1/auth` as a 402 P0010, the card page as a field error), but the rules
live here once. The card number and CVC stay in the `Card` object; only `kept_card_fields` reaches a row (§13.6).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.pay.accounts.models import Account
from services.pay.payments.states import Trigger
from services.pay.provider.base import AuthorisationResult, Card, CardInfo, CardProvider, Outcome
from services.pay.provider.cards import luhn_valid


class Refusal(StrEnum):
    luhn_invalid = "luhn_invalid"
    #: No known brand, or a brand or debit/credit type the account does not take.
    not_accepted = "not_accepted"
    prepaid_blocked = "prepaid_blocked"


@dataclass(frozen=True)
class CardCheck:
    info: CardInfo | None
    refusal: Refusal | None = None


def check_card(provider: CardProvider, account: Account, number: str) -> CardCheck:
    """Luhn, then the brand and type on the account's accepted list, then prepaid cards when they are blocked."""
    if not luhn_valid(number):
        return CardCheck(None, Refusal.luhn_invalid)
    info = provider.describe(number)
    if info is None or not account.accepts(info.brand, info.card_type):
        return CardCheck(info, Refusal.not_accepted)
    if info.prepaid and account.block_prepaid_cards:
        return CardCheck(info, Refusal.prepaid_blocked)
    return CardCheck(info)


@dataclass(frozen=True)
class Attempt:
    """What came back from the provider (or the lack of it)."""

    result: AuthorisationResult | None
    timed_out: bool = False


async def call_provider(call: Callable[[], Awaitable[AuthorisationResult]], limit_seconds: float) -> Attempt:
    """One provider call under `PAY_AUTHORISATION_TIMEOUT_SECONDS`; no answer in time is a timeout (§7, §9.2)."""
    try:
        async with asyncio.timeout(limit_seconds):
            return Attempt(await call())
    except TimeoutError:
        return Attempt(None, timed_out=True)


def outcome_trigger(attempt: Attempt, on_authorised: Trigger) -> Trigger:
    """The transition an attempt's outcome triggers; `on_authorised` is the caller's, since an authorised MOTO
    payment is finished while an authorised web payment waits for the payer to confirm."""
    result = attempt.result
    if result is None or result.outcome == Outcome.error:
        return Trigger.authorisation_timed_out if attempt.timed_out else Trigger.authorisation_failed
    if result.outcome == Outcome.declined:
        return Trigger.declined
    if result.outcome == Outcome.three_ds_required:
        return Trigger.three_ds_required
    return on_authorised


def kept_card_fields(card: Card, info: CardInfo) -> dict[str, Any]:
    """The only card fields pay stores (§13.6): first 6 and last 4 digits, brand, type, expiry and name."""
    return {
        "card_brand": info.brand,
        "card_type": info.card_type,
        "first_digits": card.number[:6],
        "last_digits": card.number[-4:],
        "cardholder_name": card.cardholder_name,
        "card_expiry": f"{card.expiry_month:02d}/{card.expiry_year % 100:02d}",
    }


def corporate_surcharge(account: Account, info: CardInfo) -> int:
    """The corporate card surcharge in pence this card attracts on this account (0 for other cards)."""
    return account.surcharge_for(info.card_type, info.prepaid) if info.corporate else 0
