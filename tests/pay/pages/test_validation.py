"""Every rule of the card details form (pay spec §13.3), on the server, with GOV.UK Pay's error codes: no database,
just the form, an account and the sandbox."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.pay.accounts.models import Account
from services.pay.accounts.service import DEFAULT_ACCEPTED_CARDS
from services.pay.pages.validation import FIELDS, FieldError, check_form, typed_values
from services.pay.provider.sandbox import SandboxProvider
from tests.pay.pages.payer import card_form

TODAY = date(2026, 6, 15)
SANDBOX = SandboxProvider()


def account(**settings: Any) -> Account:
    values: dict[str, Any] = {
        "service_id": uuid.uuid4(),
        "mode": "test",
        "service_name": "Council tax",
        "accepted_cards": DEFAULT_ACCEPTED_CARDS,
        "block_prepaid_cards": False,
        "collect_billing_address": True,
        "email_collection_mode": "MANDATORY",
    }
    values.update(settings)
    return Account(**values)


def errors_of(form: dict[str, str], **settings: Any) -> dict[str, str]:
    checked = check_form(form, account(**settings), SANDBOX, TODAY)
    assert (checked.accepted is None) == bool(checked.errors)
    return {error.field: error.code for error in checked.errors}


def test_a_complete_form_is_accepted_with_only_what_pay_keeps() -> None:
    form = card_form("4444 3333 2222 1111", cvc=" 7 3 9", addressLine2="Flat 2", email=" ada@example.org ")
    checked = check_form(form, account(), SANDBOX, TODAY)
    assert checked.errors == []
    accepted = checked.accepted
    assert accepted is not None
    assert (accepted.card.number, accepted.card.cvc) == ("4444333322221111", "739")
    assert (accepted.card.expiry_month, accepted.card.expiry_year) == (12, 2039)
    assert (accepted.info.brand, accepted.info.card_type) == ("visa", "credit")
    assert accepted.billing_address == {
        "line1": "1 Example Street",
        "line2": "Flat 2",
        "postcode": "CF10 1AA",
        "city": "Cardiff",
        "country": "GB",
    }
    assert accepted.email == "ada@example.org"
    assert "4444333322221111" not in repr(accepted)  # the card's repr leaves the number and CVC out


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "message"),
        ("   ", "message"),
        ("4444-3333-2222-1111", "numberIncorrectLength"),  # digits and spaces only
        ("4444 3333 2222 111a", "numberIncorrectLength"),
        ("44443333222", "numberIncorrectLength"),  # 11 digits
        ("44443333222211110000", "numberIncorrectLength"),  # 20 digits
        ("4444333322221112", "luhnInvalid"),
        ("6759649826438453", "cardNotSupported"),  # Maestro: not in the default accepted list
        ("9999999999999995", "cardNotSupported"),  # passes Luhn, but no brand has the prefix
    ],
)
def test_card_number(number: str, code: str) -> None:
    assert errors_of(card_form(number)) == {"cardNo": code}


@pytest.mark.parametrize("number", ["222100000000000", "4917610000000000003", "4444 3333 2222 1111"])
def test_card_numbers_of_12_to_19_digits_with_spaces_are_taken(number: str) -> None:
    assert errors_of(card_form(number)) == {}


def test_a_brand_or_type_the_account_does_not_take_is_not_supported() -> None:
    debit_only = [["visa", "debit"], ["master-card", "debit"]]
    assert errors_of(card_form("4444333322221111"), accepted_cards=debit_only) == {"cardNo": "cardNotSupported"}
    assert errors_of(card_form("4000056655665556"), accepted_cards=debit_only) == {}
    assert errors_of(card_form("371449635398431"), accepted_cards=debit_only) == {"cardNo": "cardNotSupported"}


def test_prepaid_cards_are_refused_only_when_blocked() -> None:
    prepaid = card_form("4000160000000004")
    assert errors_of(prepaid) == {}
    assert errors_of(prepaid, block_prepaid_cards=True) == {"cardNo": "cardNotSupported"}


@pytest.mark.parametrize(
    ("month", "year", "code"),
    [
        ("", "30", "message"),
        ("12", "", "message"),
        ("13", "30", "invalidMonth"),
        ("0", "30", "invalidMonth"),
        ("00", "30", "invalidMonth"),
        ("1a", "30", "invalidMonth"),
        ("12", "3", "invalidYear"),
        ("12", "030", "invalidYear"),
        ("12", "0230", "invalidYear"),
        ("12", "2100", "invalidYear"),
        ("5", "2026", "inThePast"),  # the month before this one
        ("12", "25", "inThePast"),
        ("6", "2026", None),  # this month is still good
        ("1", "27", None),
        ("01", "2099", None),
        ("12", "99", None),
    ],
)
def test_expiry_date(month: str, year: str, code: str | None) -> None:
    expected = {"expiryMonth": code} if code else {}
    assert errors_of(card_form(expiryMonth=month, expiryYear=year)) == expected


@pytest.mark.parametrize(
    ("cvc", "ok"),
    [("", False), ("12", False), ("12345", False), ("123", True), ("1234", True), ("1 2 3", True), ("12a", False)],
)
def test_security_code_is_3_or_4_digits_once_other_characters_are_removed(cvc: str, ok: bool) -> None:
    assert errors_of(card_form(cvc=cvc)) == ({} if ok else {"cvc": "invalidLength"})


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "message"),
        ("A" * 256, "message"),
        ("Ada 4444 3333 2222", "containsTooManyDigits"),  # 12 digits: a card number in the wrong box
        ("123", "containsSuspectedCVC"),
        (" 1234 ", "containsSuspectedCVC"),
        ("A" * 255, None),
        ("Ada 12345678901", None),  # 11 digits is allowed
        ("12345", None),
    ],
)
def test_name_on_card(name: str, code: str | None) -> None:
    assert errors_of(card_form(cardholderName=name)) == ({"cardholderName": code} if code else {})


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("addressLine1", "", "message"),
        ("addressLine1", "A" * 256, "message"),
        ("addressLine1", "4444 3333 2222 1111 Street", "containsTooManyDigits"),
        ("addressLine2", "A" * 256, "message"),
        ("addressLine2", "Flat 123456789012", "containsTooManyDigits"),
        ("addressCity", "", "message"),
        ("addressCity", "Town 123456789012", "containsTooManyDigits"),
        ("addressPostcode", "", "message"),
        ("addressPostcode", "CF10", "message"),  # incomplete UK postcode
        ("addressPostcode", "CF10 1A", "message"),
        ("addressCountry", "", "message"),
        ("addressCountry", "XX", "message"),
        ("addressCountry", "gb", "message"),
    ],
)
def test_billing_address(field: str, value: str, code: str) -> None:
    assert errors_of(card_form(**{field: value})) == {field: code}


@pytest.mark.parametrize("postcode", ["cf10 1aa", "CF10   1AA", "SW1A1AA", "GIR 0AA", "gir0aa", "M1 1AE", "B33 8TH"])
def test_uk_postcodes_are_upper_cased_and_their_spaces_collapsed(postcode: str) -> None:
    assert errors_of(card_form(addressPostcode=postcode)) == {}


def test_postcodes_outside_the_uk_are_free_form_but_not_card_numbers() -> None:
    assert errors_of(card_form(addressPostcode="75001", addressCountry="FR")) == {}
    assert errors_of(card_form(addressPostcode="X" * 26, addressCountry="FR")) == {"addressPostcode": "message"}
    assert errors_of(card_form(addressPostcode="123456789012", addressCountry="FR")) == {
        "addressPostcode": "containsTooManyDigits"
    }


def test_no_billing_address_is_asked_for_unless_the_account_collects_it() -> None:
    junk = card_form(addressLine1="", addressCity="", addressPostcode="?", addressCountry="XX")
    checked = check_form(junk, account(collect_billing_address=False), SANDBOX, TODAY)
    assert checked.errors == [] and checked.accepted is not None
    assert checked.accepted.billing_address is None


@pytest.mark.parametrize(
    ("mode", "email", "code"),
    [
        ("MANDATORY", "", "message"),
        ("MANDATORY", "ada", "message"),
        ("MANDATORY", "ada@localhost", "message"),  # the domain needs a dot
        ("MANDATORY", "a da@example.org", "message"),
        ("MANDATORY", "ada@@example.org", "message"),
        ("MANDATORY", "a" * 243 + "@example.org", "invalidLength"),  # 255 characters
        ("MANDATORY", "a" * 242 + "@example.org", None),  # 254
        ("OPTIONAL", "", None),
        ("OPTIONAL", "ada", "message"),
        ("OFF", "not an email", None),
    ],
)
def test_email_follows_the_collection_mode(mode: str, email: str, code: str | None) -> None:
    assert errors_of(card_form(email=email), email_collection_mode=mode) == ({"email": code} if code else {})


def test_an_optional_email_left_empty_is_none_and_an_email_not_collected_is_ignored() -> None:
    optional = check_form(card_form(email=""), account(email_collection_mode="OPTIONAL"), SANDBOX, TODAY)
    off = check_form(card_form(email="ada@example.org"), account(email_collection_mode="OFF"), SANDBOX, TODAY)
    assert optional.accepted is not None and optional.accepted.email is None
    assert off.accepted is not None and off.accepted.email is None


def test_every_error_is_listed_in_the_order_of_the_form_with_its_message() -> None:
    everything_wrong = dict.fromkeys(FIELDS, "") | {"expiryYear": ""}
    checked = check_form(everything_wrong, account(), SANDBOX, TODAY)
    assert [error.field for error in checked.errors] == [f for f in FIELDS if f != "addressLine2"]
    assert [error.message for error in checked.errors] == [
        "Enter a valid card number",
        "Enter a valid expiry date",
        "Enter the name as it appears on the card",
        "Enter a valid card security code",
        "Enter a valid billing address",
        "Enter a valid town/city",
        "Enter a valid postcode",
        "Enter a valid country or territory",
        "Enter a valid email",
    ]
    assert FieldError("cardNo", "numberIncorrectLength").message == "Card number is not the correct length"
    assert FieldError("cardNo", "luhnInvalid").message == "Enter a valid card number"
    assert FieldError("cardNo", "cardNotSupported").message == "This card type is not accepted"
    assert FieldError("expiryMonth", "inThePast").message == "Enter an expiry date in the future"
    assert FieldError("cardholderName", "containsSuspectedCVC").message == "Enter the name as it appears on the card"


def test_what_is_shown_again_after_errors_never_includes_the_security_code() -> None:
    typed = typed_values(card_form(cvc="739"))
    assert "cvc" not in typed and "739" not in typed.values()
    assert typed["cardNo"] == "4444333322221111" and typed["expiryYear"] == "39"
