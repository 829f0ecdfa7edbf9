"""Card-number rules (pay spec §13.3, §13.4), the sandbox's test cards (§13.5), and the log mask (§13.6)."""

from __future__ import annotations

import pytest

from services.pay.logmask import MASK, mask_card_numbers
from services.pay.provider.base import Card, Outcome
from services.pay.provider.cards import detect_brand, luhn_valid, well_formed
from services.pay.provider.sandbox import CARDS, SandboxProvider


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4444333322221111", "visa"),
        ("5105105105105100", "master-card"),
        ("2221000000000009", "master-card"),
        ("2720990000000000", "master-card"),
        ("371449635398431", "american-express"),
        ("341111111111111", "american-express"),
        ("36148900647913", "diners-club"),
        ("30569309025904", "diners-club"),
        ("6011000990139424", "discover"),
        ("6445644564456445", "discover"),
        ("3566002020360505", "jcb"),
        ("6200000000000005", "unionpay"),
        ("6759649826438453", "maestro"),
        ("5000000000000611", "maestro"),
        ("5041750000000000", None),
        ("9999999999999999", None),
    ],
)
def test_brand_by_longest_prefix(number: str, brand: str | None) -> None:
    assert detect_brand(number) == brand


def test_luhn_and_length() -> None:
    assert luhn_valid("4444333322221111") and not luhn_valid("4444333322221112")
    assert well_formed("4" * 12) and well_formed("4" * 19)
    assert not well_formed("4" * 11) and not well_formed("4" * 20) and not well_formed("4444-3333-2222-1111")


@pytest.mark.parametrize("number", sorted(CARDS))
def test_the_sandbox_knows_each_test_card_and_its_brand(number: str) -> None:
    info = SandboxProvider().describe(number)
    assert info is not None
    assert info.brand == detect_brand(number) == CARDS[number].brand


async def test_the_sandbox_decides_by_number_alone() -> None:
    sandbox = SandboxProvider()

    def card(number: str) -> Card:
        return Card(number=number, cvc="000", expiry_month=1, expiry_year=2099, cardholder_name="x")

    assert (
        await sandbox.authorise(payment_id="p", amount=1, card=card("4242424242424242"))
    ).outcome == Outcome.authorised
    assert (
        await sandbox.authorise(payment_id="p", amount=1, card=card("4000000000000002"))
    ).outcome == Outcome.declined
    assert (await sandbox.authorise(payment_id="p", amount=1, card=card("4000000000000119"))).outcome == Outcome.error
    assert (await sandbox.authorise(payment_id="p", amount=1, card=card("4000000000000036"))).outcome == Outcome.error


@pytest.mark.parametrize("number", ["4000002500003155", "4000002760003184"])
async def test_the_three_d_secure_cards_challenge_only_a_payer_who_is_present(number: str) -> None:
    sandbox = SandboxProvider()
    card = Card(number=number, cvc="000", expiry_month=1, expiry_year=2099, cardholder_name="x")
    by_api = await sandbox.authorise(payment_id="p", amount=1, card=card)
    on_the_pages = await sandbox.authorise(payment_id="p", amount=1, card=card, payer_present=True)
    assert by_api.outcome == Outcome.authorised  # MOTO and recurring payments never challenge (§13.5)
    assert on_the_pages.outcome == Outcome.three_ds_required
    passed = await sandbox.authorise_3ds(payment_id="p", provider_id=on_the_pages.provider_id, authenticated=True)
    failed = await sandbox.authorise_3ds(payment_id="p", provider_id=on_the_pages.provider_id, authenticated=False)
    assert (passed.outcome, failed.outcome) == (Outcome.authorised, Outcome.declined)
    assert passed.provider_id == on_the_pages.provider_id


async def test_other_cards_never_ask_for_three_d_secure() -> None:
    card = Card(number="4444333322221111", cvc="000", expiry_month=1, expiry_year=2099, cardholder_name="x")
    result = await SandboxProvider().authorise(payment_id="p", amount=1, card=card, payer_present=True)
    assert result.outcome == Outcome.authorised


def test_a_card_never_shows_its_number_or_cvc() -> None:
    card = Card(number="4444333322221111", cvc="123", expiry_month=1, expiry_year=2030, cardholder_name="A")
    assert "4444333322221111" not in repr(card) and "123" not in repr(card)


def test_the_log_mask() -> None:
    event = {
        "event": "card 4444333322221111 and 4444 3333 2222 1111 and 4444-3333-2222-1111",
        "nested": {"list": ["4917610000000000003"]},
        "short": "12345678901",
        "amount": 1200,
    }
    masked = mask_card_numbers(None, "info", event)
    assert masked["event"] == f"card {MASK} and {MASK} and {MASK}"
    assert masked["nested"] == {"list": [MASK]}
    assert masked["short"] == "12345678901" and masked["amount"] == 1200
