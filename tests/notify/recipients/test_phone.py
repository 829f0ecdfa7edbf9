"""Phone numbers: spec §10.1, the §4.2/§4.3 messages, §3.5 simulated recipients and §9.5 rate multipliers."""

from __future__ import annotations

import pytest

from services.notify.recipients import normalise_recipient
from services.notify.recipients.phone import (
    CANNOT_SEND_INTERNATIONAL,
    EMERGENCY_NUMBER,
    INVALID_COUNTRY_PREFIX,
    INVALID_NUMBER,
    NOT_A_UK_MOBILE,
    TOO_LONG,
    TOO_SHORT,
    UNKNOWN_CHARACTER,
    InvalidPhoneError,
    PhoneNumber,
    SmsRecipientRefused,
    check_sms_permissions,
    is_smoke_test_number,
    parse_phone_number,
    simulated_sms_status,
    sms_rate_multiplier,
    validate_phone_number,
)


def test_messages_are_the_public_contract() -> None:
    assert INVALID_NUMBER == "Number is not valid \u2013 double check the phone number you entered"
    assert "\u2013" in INVALID_NUMBER  # an en dash, not a hyphen
    assert (TOO_SHORT, TOO_LONG, INVALID_COUNTRY_PREFIX, UNKNOWN_CHARACTER) == (
        "Not enough digits",
        "Too many digits",
        "Not a valid country prefix",
        "Must not contain letters or symbols",
    )
    assert EMERGENCY_NUMBER == "Phone number cannot be an emergency number"
    assert CANNOT_SEND_INTERNATIONAL == "Cannot send to international mobile numbers"
    assert NOT_A_UK_MOBILE == "Not a UK mobile number"


@pytest.mark.parametrize(
    "value",
    [
        "07700900123",
        "+447700900123",
        "0044 7700 900123",
        "7700900123",
        "447700900123",
        "+44 (0)7700 900 123",
        "07700-900-123",
        "\u200b\t\t+44 (0)7700 900 123\ufeff \r\n",
    ],
)
def test_uk_spellings_normalise_to_e164_without_plus(value: str) -> None:
    number = parse_phone_number(value)
    assert number.normalised_to == "447700900123"
    assert number.international is False
    assert number.phone_prefix == "44"
    assert number.rate_multiplier == 1


def test_to_is_the_input_without_whitespace() -> None:
    assert parse_phone_number(" +44 (0)7700\t900 123 ").to == "+44(0)7700900123"


def test_real_uk_mobile() -> None:
    assert parse_phone_number("07723 456789") == PhoneNumber(
        to="07723456789",
        normalised_to="447723456789",
        international=False,
        phone_prefix="44",
        is_uk_landline=False,
        rate_multiplier=1,
    )


@pytest.mark.parametrize("value", ["07700900000", "07700900500", "07700900999", "+447700900010"])
def test_drama_range_is_valid_and_uk(value: str) -> None:
    number = parse_phone_number(value)
    assert number.international is False
    assert number.normalised_to.startswith("447700900")


def test_just_outside_the_drama_range_is_not_valid() -> None:
    with pytest.raises(InvalidPhoneError) as error:
        parse_phone_number("07700 901000")
    assert error.value.message == INVALID_NUMBER


@pytest.mark.parametrize(
    ("value", "normalised"),
    [("+447797292290", "447797292290"), ("07797800123", "447797800123"), ("+44 1534 123456", "441534123456")],
)
def test_crown_dependencies_are_international_at_their_own_rate(value: str, normalised: str) -> None:
    number = parse_phone_number(value)
    assert number.normalised_to == normalised
    assert number.international is True
    assert number.phone_prefix == "44"
    assert number.rate_multiplier == 2


@pytest.mark.parametrize(
    ("value", "normalised", "prefix", "rate"),
    [
        ("+7 (8) (495) 123-45-67", "74951234567", "7", 10),
        ("784951234567", "74951234567", "7", 10),
        ("1-202-555-0104", "12025550104", "1", 1),
        ("+0012025550104", "12025550104", "1", 1),
        ("16644913789", "16644913789", "1664", 3),
        ("20-12-1234-1234", "201212341234", "20", 3),
        ("00201212341234", "201212341234", "20", 3),
        ("+23052512345", "23052512345", "230", 2),
        ("+33122334455", "33122334455", "33", 2),
        ("+43 676 111 222 333 4", "436761112223334", "43", 3),
    ],
)
def test_international_numbers(value: str, normalised: str, prefix: str, rate: int) -> None:
    number = parse_phone_number(value)
    assert (number.normalised_to, number.international, number.phone_prefix, number.rate_multiplier) == (
        normalised,
        True,
        prefix,
        rate,
    )


@pytest.mark.parametrize("value", ["0117 496 0860", "+44 117 496 0860", "020 7946 0991", "030 1234 5678"])
def test_uk_landlines_parse_and_are_flagged(value: str) -> None:
    number = parse_phone_number(value)
    assert number.is_uk_landline is True
    assert number.international is False


def test_mobile_is_not_a_landline() -> None:
    assert parse_phone_number("07723456789").is_uk_landline is False


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", TOO_SHORT),
        ("   ", TOO_SHORT),
        ("0772345678910", TOO_LONG),
        ("+44 (0)7723 456 789 10", TOO_LONG),
        ("80100000000", TOO_LONG),
        ("+12345 12345 12345 6", TOO_LONG),
        ("(07417)4123456", TOO_LONG),
        ("07890x32109", UNKNOWN_CHARACTER),
        ("07723 456789...", UNKNOWN_CHARACTER),
        ("07723☟☜⬇⬆☞☝", UNKNOWN_CHARACTER),
        ('07";DROP TABLE;"', UNKNOWN_CHARACTER),
        ("ALPHANUM3R1C", UNKNOWN_CHARACTER),
        ("0772345678", INVALID_NUMBER),
        ("00447723456", INVALID_NUMBER),
        ("1234567", INVALID_NUMBER),
        ("+682 1234", INVALID_NUMBER),
        ("0400 123 4567", INVALID_NUMBER),
        ("0600 123 4567", INVALID_NUMBER),
        ("0033877123456", INVALID_NUMBER),
        ("0900 123 4567", INVALID_NUMBER),  # premium rate is refused
        ("0845 46 46", INVALID_NUMBER),
        ("999", EMERGENCY_NUMBER),
        ("112", EMERGENCY_NUMBER),
        ("+44 999", EMERGENCY_NUMBER),
    ],
)
def test_invalid_numbers_give_the_exact_message(value: str, message: str) -> None:
    with pytest.raises(InvalidPhoneError) as error:
        parse_phone_number(value)
    assert error.value.message == message
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("0+447700900100", "447700900100"),  # spec §10.1 quirk
        ("0+44(0)7779123456", "447779123456"),
        ("+07044123456", "447044123456"),
        ("000007392123456", "447392123456"),
        ("04407379123456", "447379123456"),
        ("+04915161123456", "4915161123456"),
        ("٠٧٧٠٠٩٠٠١٢٣", "447700900123"),  # Arabic-Indic digits are made ASCII on the second attempt
        ("０７７００９００１２３", "447700900123"),  # so are full-width ones
    ],
)
def test_second_attempt_forgives_near_misses(value: str, normalised: str) -> None:
    assert parse_phone_number(value).normalised_to == normalised


def test_one_digit_too_many_for_the_uk_reparses_as_plus_seven() -> None:
    number = parse_phone_number("077009001234")
    assert number.normalised_to == "77009001234"
    assert number.phone_prefix == "7"
    assert number.international is True


def test_country_outside_the_rate_table_parses_but_fails_validation() -> None:
    number = parse_phone_number("24741111")  # Ascension Island, +247
    assert number.phone_prefix == "247"
    assert number.rate_multiplier is None
    with pytest.raises(InvalidPhoneError) as error:
        validate_phone_number("24741111")
    assert error.value.message == INVALID_COUNTRY_PREFIX


def test_validate_accepts_what_the_schema_stage_should() -> None:
    assert validate_phone_number("+447797292290").normalised_to == "447797292290"
    assert validate_phone_number("0117 496 0860").is_uk_landline


@pytest.mark.parametrize(
    ("value", "permissions", "error", "message"),
    [
        ("+12025550104", set(), "BadRequestError", CANNOT_SEND_INTERNATIONAL),
        ("+447797292290", {"sms_to_uk_landlines"}, "BadRequestError", CANNOT_SEND_INTERNATIONAL),
        ("0117 496 0860", {"international_sms"}, "InvalidPhoneError", NOT_A_UK_MOBILE),
        ("+44 1534 123456", {"international_sms"}, "InvalidPhoneError", NOT_A_UK_MOBILE),
        ("24741111", {"international_sms"}, "InvalidPhoneError", INVALID_COUNTRY_PREFIX),
    ],
)
def test_send_path_permissions(value: str, permissions: set[str], error: str, message: str) -> None:
    with pytest.raises(SmsRecipientRefused) as refused:
        check_sms_permissions(parse_phone_number(value), permissions)
    assert (refused.value.error, refused.value.message) == (error, message)


@pytest.mark.parametrize(
    ("value", "permissions"),
    [
        ("07723456789", []),
        ("07700900123", []),
        ("+12025550104", ["international_sms"]),
        ("+447797292290", ["international_sms"]),
        ("0117 496 0860", ["sms_to_uk_landlines"]),
        ("+44 1534 123456", ["international_sms", "sms_to_uk_landlines"]),
    ],
)
def test_send_path_allows_permitted_numbers(value: str, permissions: list[str]) -> None:
    check_sms_permissions(parse_phone_number(value), permissions)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("07700900000", True),
        ("+447700900111", True),
        ("447700900222", True),
        ("0044 7700 900 000", True),
        ("07700900333", False),
        ("not a number", False),
    ],
)
def test_smoke_test_numbers_match_any_spelling(value: str, expected: bool) -> None:
    assert is_smoke_test_number(value) is expected


@pytest.mark.parametrize(
    ("normalised", "status"),
    [("447700900003", "temporary-failure"), ("447700900002", "permanent-failure"), ("447700900123", "delivered")],
)
def test_simulated_statuses_for_test_keys(normalised: str, status: str) -> None:
    assert simulated_sms_status(normalised) == status


def test_rate_table_lookups() -> None:
    assert sms_rate_multiplier("44") == 2
    assert sms_rate_multiplier("7") == 10
    assert sms_rate_multiplier("1") == 1
    assert sms_rate_multiplier("247") is None


def test_normalise_recipient_for_guest_lists() -> None:
    assert normalise_recipient("sms", "+44 7700 900123") == "447700900123"
    assert normalise_recipient("email", " Someone@Example.COM ") == "someone@example.com"
    with pytest.raises(ValueError, match="Must not contain letters or symbols"):
        normalise_recipient("sms", "call me")
    with pytest.raises(ValueError, match="letter"):
        normalise_recipient("letter", "anything")
