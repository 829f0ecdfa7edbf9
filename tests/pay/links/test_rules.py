"""The rules of payment links that need no server: what looks like a card number (§15 B4), pounds as a payer
types them, addresses made from names, generated references, and Welsh for every message chosen in Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gaap.pages.i18n import Catalogues
from services.pay.links import journey
from services.pay.links.validation import is_slug, slugify
from services.pay.provider.cards import contains_card_number

PAGES = Path(__file__).resolve().parents[3] / "services" / "pay" / "pages"


@pytest.mark.parametrize(
    ("text", "card_like"),
    [
        ("4444333322221111", True),
        ("4444 3333 2222 1111", True),
        ("4444-3333-2222-1111", True),
        ("Invoice 4000002500003155 March", True),
        ("2026-03 4444333322221111", True),  # a card number after a date, which joins the run
        ("378282246310005", True),  # American Express, 15 digits
        ("4444333322221112", False),  # fails Luhn
        ("12345678903", False),  # Luhn-valid, but 11 digits
        ("44443333222211110000", False),  # 20 digits: no card is that long
        ("INV-2026-0001", False),
        ("", False),
    ],
)
def test_what_looks_like_a_card_number(text: str, card_like: bool) -> None:
    assert contains_card_number(text) is card_like


@pytest.mark.parametrize(
    ("typed", "pence"),
    [("12", 1200), ("12.5", 1250), ("£12.50", 1250), (" 1,234.05 ", 123405), ("0.01", 1), ("1,2,3", None)],
)
def test_pounds_as_a_payer_types_them(typed: str, pence: int | None) -> None:
    assert journey.pence_of(typed) == pence


@pytest.mark.parametrize("typed", ["", "12.345", "-5", "1e3", "12,50", "£", "١٢"])
def test_what_is_not_an_amount(typed: str) -> None:
    assert journey.pence_of(typed) is None


def test_addresses_are_made_from_names() -> None:
    assert slugify("Talu am drwydded barcio ŵ ŷ â!") == "talu-am-drwydded-barcio-w-y-a"
    assert slugify("  --  ") == ""
    assert len(slugify("a" * 100)) == 60
    assert is_slug("council-tax-2") and not is_slug("Council") and not is_slug("a--b") and not is_slug("a" * 61)


def test_generated_references_are_easy_to_read_and_never_card_like() -> None:
    references = {journey.generated_reference() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", reference)
        assert not contains_card_number(reference)


def test_every_message_chosen_in_python_has_welsh() -> None:
    welsh = Catalogues([PAGES / "locale"]).translations("cy")
    assert [message for message in journey.MESSAGES if welsh.gettext(message) == message] == []
