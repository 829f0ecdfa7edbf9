"""The sandbox card gateway (pay spec §13.5): decides by card number alone, with GOV.UK Pay's test cards.

Any future expiry, any valid CVC and any name work. Captures, voids and refunds always succeed. Numbers the table
does not know are authorisation errors (`Unsupported card details.`), as in GOV.UK Pay's sandbox. The 3-D Secure cards
ask for a challenge only when the payer is present (the hosted pages); MOTO and API authorisations never ask, so
there they authorise at once. The challenge's answer decides alone: authenticated authorises, failed declines.
`PAY_SANDBOX_AUTH_DELAY_MS` delays every authorisation, to test slow providers.

The dispute cards (4000000000000259, 4000000000002685) authorise like any Visa credit card; once such a payment is
captured, a `fraudulent` dispute opens against it and ends `lost` or `won`. Like Stripe, where GOV.UK Pay's disputes
come from, the sandbox charges a dispute fee (`DISPUTE_FEE`, £20) on a lost dispute and gives the paying user's bank
21 days for evidence; the worker's `disputes` job plays the dispute out (`PAY_SANDBOX_DISPUTE_*_SECONDS`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from services.pay.provider.base import (
    AuthorisationResult,
    Card,
    CardInfo,
    CardProvider,
    DisputeScenario,
    Outcome,
    StoredInstrument,
)
from services.pay.provider.cards import detect_brand


@dataclass(frozen=True)
class SandboxCard:
    brand: str
    card_type: str | None
    outcome: Outcome = Outcome.authorised
    prepaid: bool = False
    corporate: bool = False
    three_ds: bool = False
    #: How a stored copy of the card answers a recurring payment: authorised, or declined with `can_retry`.
    recurring: Outcome = Outcome.authorised
    recurring_can_retry: bool | None = None


def _cards() -> dict[str, SandboxCard]:
    visa_credit = SandboxCard("visa", "credit")
    mc_credit = SandboxCard("master-card", "credit")
    declined = SandboxCard("visa", None, Outcome.declined)
    three_ds = SandboxCard("visa", "credit", three_ds=True)
    table = {
        "4444333322221111": visa_credit,
        "4242424242424242": visa_credit,
        "4000056655665556": SandboxCard("visa", "debit"),
        "4917610000000000003": visa_credit,
        "4000020000000000": visa_credit,
        "4000000000000010": SandboxCard("visa", None),
        "4000160000000004": SandboxCard("visa", "debit", prepaid=True),
        "4988080000000000": SandboxCard("visa", "debit", corporate=True),
        "4111111111111111": SandboxCard("visa", "credit", corporate=True),
        "4293189100000008": SandboxCard("visa", "credit", corporate=True),
        "5101180000000007": SandboxCard("master-card", "credit", prepaid=True, corporate=True),
        "4131840000000003": SandboxCard("visa", "debit", prepaid=True, corporate=True),
        "4000180000000002": SandboxCard("visa", "debit", prepaid=True, corporate=True),
        "5200828282828210": SandboxCard("master-card", "debit", prepaid=True, corporate=True),
        "222100000000000": mc_credit,
        "5555555555554444": mc_credit,
        "5105105105105100": SandboxCard("master-card", "debit", recurring=Outcome.declined, recurring_can_retry=True),
        "371449635398431": SandboxCard("american-express", "credit"),
        "3566002020360505": SandboxCard("jcb", "credit"),
        "6011000990139424": SandboxCard("discover", "credit"),
        "36148900647913": SandboxCard("diners-club", "credit"),
        "4000000000000002": declined,
        "4000000000000069": declined,  # expired card
        "4000000000000127": declined,  # incorrect CVC
        "4000000000000119": SandboxCard("visa", None, Outcome.error),  # processing error
        "4000002500003155": three_ds,
        "4000002760003184": SandboxCard(
            "visa", "credit", three_ds=True, recurring=Outcome.declined, recurring_can_retry=False
        ),
        "4000000000009995": SandboxCard("visa", "credit", Outcome.declined),
        "4000000000000259": visa_credit,
        "4000000000002685": visa_credit,
        "6759649826438453": SandboxCard("maestro", "debit"),
    }
    return table


CARDS = _cards()
#: Stored cards by first 6 and last 4 digits (§13.5); every test card has a pair of its own.
STORED = {number[:6] + number[-4:]: card for number, card in CARDS.items()}
#: The sandbox's dispute fee on a lost dispute, in pence (Stripe's UK dispute fee).
DISPUTE_FEE = 2000
EVIDENCE_WINDOW = timedelta(days=21)
#: The dispute cards by the digits pay keeps (first 6, last 4): the dispute that follows capture ends as given.
DISPUTE_CARDS = {("400000", "0259"): "lost", ("400000", "2685"): "won"}


class SandboxProvider(CardProvider):
    name = "sandbox"

    def __init__(self, auth_delay_ms: int = 0) -> None:
        self.auth_delay = auth_delay_ms / 1000

    def describe(self, number: str) -> CardInfo | None:
        known = CARDS.get(number)
        if known is not None:
            return CardInfo(known.brand, known.card_type, known.prepaid, known.corporate)
        brand = detect_brand(number)
        return CardInfo(brand, None) if brand is not None else None

    async def authorise(
        self, *, payment_id: str, amount: int, card: Card, payer_present: bool = False, save_card: bool = False
    ) -> AuthorisationResult:
        if self.auth_delay:
            await asyncio.sleep(self.auth_delay)
        known = CARDS.get(card.number)
        outcome = known.outcome if known is not None else Outcome.error
        if known is not None and known.three_ds and payer_present:
            outcome = Outcome.three_ds_required
        saved = save_card and outcome in (Outcome.authorised, Outcome.three_ds_required)
        token = f"sandbox-instrument-{payment_id}" if saved else None
        return AuthorisationResult(outcome, provider_id=f"sandbox-{payment_id}", instrument_token=token)

    async def authorise_stored(
        self, *, payment_id: str, amount: int, instrument: StoredInstrument
    ) -> AuthorisationResult:
        if self.auth_delay:
            await asyncio.sleep(self.auth_delay)
        known = STORED.get(f"{instrument.first_digits}{instrument.last_digits}")
        provider_id = f"sandbox-{payment_id}"
        if known is None:
            return AuthorisationResult(Outcome.error, provider_id=provider_id)
        return AuthorisationResult(known.recurring, provider_id=provider_id, can_retry=known.recurring_can_retry)

    async def delete_instrument(self, *, instrument_id: str, token: str) -> None:
        return None

    async def authorise_3ds(
        self, *, payment_id: str, provider_id: str | None, authenticated: bool
    ) -> AuthorisationResult:
        if self.auth_delay:
            await asyncio.sleep(self.auth_delay)
        outcome = Outcome.authorised if authenticated else Outcome.declined
        return AuthorisationResult(outcome, provider_id=provider_id or f"sandbox-{payment_id}")

    async def capture(self, *, payment_id: str, provider_id: str | None, amount: int) -> None:
        return None

    async def void(self, *, payment_id: str, provider_id: str | None) -> None:
        return None

    async def refund(self, *, refund_id: str, payment_id: str, provider_id: str | None, amount: int) -> None:
        return None

    def dispute_after_capture(self, *, first_digits: str | None, last_digits: str | None) -> DisputeScenario | None:
        outcome = DISPUTE_CARDS.get((first_digits or "", last_digits or ""))
        if outcome is None:
            return None
        return DisputeScenario("fraudulent", outcome, DISPUTE_FEE, EVIDENCE_WINDOW)
