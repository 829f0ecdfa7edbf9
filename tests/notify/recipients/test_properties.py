"""Property tests: for any text, the validators answer or raise their own error, and nothing else (spec §0.3).

A 500 for bad input is a contract break, so these feed arbitrary Unicode, and text built from the
characters each validator cares about, to every public entry point.
"""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.recipients.countries import find_country
from services.notify.recipients.email import InvalidEmailError, validate_email_address
from services.notify.recipients.phone import (
    InvalidPhoneError,
    is_smoke_test_number,
    parse_phone_number,
    validate_phone_number,
)
from services.notify.recipients.postal import (
    address_from_personalisation,
    address_problem,
    postage_for,
)

PHONE_ALPHABET = st.sampled_from(list("0123456789+()- \t٠٧０９" + "\u200b"))
EMAIL_PIECES = st.sampled_from([*string.ascii_letters, *string.digits, *".@-_+'\"; \u200b例テ", "xn--", ".com", "@a.b"])
EMAIL_LIKE = st.lists(EMAIL_PIECES, max_size=30).map("".join)
ADDRESS_KEYS = st.sampled_from([f"address_line_{number}" for number in range(1, 8)] + ["postcode", "Address Line 1"])
ANY_TEXT = st.text(max_size=80)

relaxed = settings(deadline=None, max_examples=300)


@relaxed
@given(st.one_of(ANY_TEXT, st.text(PHONE_ALPHABET, max_size=25)))
def test_phone_parsing_only_raises_its_own_error(value: str) -> None:
    try:
        number = parse_phone_number(value)
    except InvalidPhoneError as error:
        assert error.message
        assert not is_smoke_test_number(value)
        return
    assert number.normalised_to.isdigit()
    assert number.normalised_to == parse_phone_number(number.normalised_to).normalised_to or number.international
    assert not any(character.isspace() for character in number.to)


@relaxed
@given(st.one_of(ANY_TEXT, st.text(PHONE_ALPHABET, max_size=25)))
def test_phone_validation_only_raises_its_own_error(value: str) -> None:
    try:
        number = validate_phone_number(value)
    except InvalidPhoneError:
        return
    assert number.rate_multiplier is not None


@relaxed
@given(st.one_of(ANY_TEXT, EMAIL_LIKE))
def test_email_validation_only_raises_its_own_error(value: str) -> None:
    try:
        address = validate_email_address(value)
    except InvalidEmailError as error:
        assert error.message == "Not a valid email address"
        return
    assert address.normalised_to == address.to.lower()
    assert validate_email_address(address.normalised_to).normalised_to == address.normalised_to


@relaxed
@given(st.dictionaries(ADDRESS_KEYS, st.one_of(ANY_TEXT, st.none(), st.integers())), st.booleans())
def test_postal_addresses_never_raise(personalisation: dict[str, object], international: bool) -> None:
    address = address_from_personalisation(personalisation, allow_international_letters=international)
    problem = address_problem(address)
    assert problem is None or problem.strip()
    fields = address.get_fields()
    assert set(fields) == {"line_1", "line_2", "line_3", "line_4", "line_5", "line_6", "postcode"}
    if problem is None:
        assert 3 <= len(address.lines) <= 7
        assert postage_for(address, "second")


@relaxed
@given(ANY_TEXT)
def test_country_lookup_never_raises(value: str) -> None:
    country = find_country(value)
    assert country is None or country.name
