"""Postal addresses and postage: spec §10.3, checked in order, with the exact messages."""

from __future__ import annotations

import pytest

from services.notify.recipients.countries import PostageZone
from services.notify.recipients.postal import (
    BFPO_WITH_COUNTRY,
    FIRST_LINES_NOT_ALPHANUMERIC,
    INVALID_FIRST_CHARACTER,
    NO_FIXED_ABODE,
    NOT_A_POSTCODE_OR_COUNTRY,
    NOT_A_UK_POSTCODE,
    TOO_FEW_LINES,
    TOO_MANY_LINES,
    UK_POSTAGE,
    InvalidAddressError,
    Postage,
    address_from_personalisation,
    address_problem,
    format_postcode,
    parse_postal_address,
    postage_for,
    validate_postal_address,
)


def lines(*values: str) -> dict[str, str]:
    """Personalisation with the values as address_line_1, address_line_2, …"""
    return {f"address_line_{number}": value for number, value in enumerate(values, start=1)}


def test_messages_are_the_public_contract() -> None:
    assert INVALID_FIRST_CHARACTER == (
        "Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >"
    )
    assert (TOO_FEW_LINES, TOO_MANY_LINES, NO_FIXED_ABODE) == (
        "Address must be at least 3 lines",
        "Address must be no more than 7 lines",
        "Must be a real address",
    )
    assert FIRST_LINES_NOT_ALPHANUMERIC == (
        "The first 2 lines of the address must both include at least one alphanumeric character"
    )
    assert BFPO_WITH_COUNTRY == "The last line of a BFPO address must not be a country."
    assert NOT_A_POSTCODE_OR_COUNTRY == "Last line of address must be a real UK postcode or another country"
    assert NOT_A_UK_POSTCODE == "Must be a real UK postcode"


@pytest.mark.parametrize(
    ("personalisation", "international", "message"),
    [
        ({"address_line_1": "", "address_line_2": "", "postcode": ""}, False, TOO_FEW_LINES),
        (lines("1 Street", "SW1A 1AA"), False, TOO_FEW_LINES),
        (lines("1 Street", "Town", "United Kingdom"), False, TOO_FEW_LINES),  # the UK line is dropped
        # A value with a line break is two lines, as in the reference: 8 lines in all.
        ({**lines("1", "2", "3", "4", "5", "6\n7"), "postcode": "SW1A 1AA"}, False, TOO_MANY_LINES),
        (lines("-", "Town", "SW1A 1AA"), False, FIRST_LINES_NOT_ALPHANUMERIC),
        (lines("Name", "...", "SW1A 1AA"), False, FIRST_LINES_NOT_ALPHANUMERIC),
        (lines("Mx One", "BFPO 1", "BF1 1AA", "France"), True, BFPO_WITH_COUNTRY),
        (lines("Mx One", "Unit 2", "Nowhere"), True, NOT_A_POSTCODE_OR_COUNTRY),
        (lines("Mx One", "Unit 2", "ZZ1 1AA"), True, NOT_A_POSTCODE_OR_COUNTRY),
        (lines("Mx One", "Unit 2", "Nowhere"), False, NOT_A_UK_POSTCODE),
        (lines("Mx One", "1 Rue Example", "France"), False, NOT_A_UK_POSTCODE),
        (lines("Mx One", "Street", "SW1 1AA", "France"), False, NOT_A_UK_POSTCODE),
        (lines("Mx One", "Town", "[Flat 1", "SW1A 1AA"), False, INVALID_FIRST_CHARACTER),
        (lines("Mx One", "Town", '"Flat 1', "SW1A 1AA"), False, INVALID_FIRST_CHARACTER),
        (lines("Mx One", "Town", "~Flat 1", "SW1A 1AA"), False, INVALID_FIRST_CHARACTER),
        (lines("Mx One", "Town", "\\Flat 1", "SW1A 1AA"), False, INVALID_FIRST_CHARACTER),
        (lines("Valid", "Except", "[For one character", "Bhutan"), True, INVALID_FIRST_CHARACTER),
        (lines("A Person", "NFA", "SW1A 1AA"), False, NO_FIXED_ABODE),
        (lines("A Person", "nfa,", "SW1A 1AA"), False, NO_FIXED_ABODE),
        (lines("User with no Fixed Address,", "London", "SW1A 1AA"), False, NO_FIXED_ABODE),
        (lines("A Person", "NO FIXED ABODE", "SW1A 1AA"), False, NO_FIXED_ABODE),
        (lines("nfa", "Berlin", "Deutschland"), True, NO_FIXED_ABODE),
    ],
)
def test_each_rule_gives_its_message(personalisation: dict[str, str], international: bool, message: str) -> None:
    with pytest.raises(InvalidAddressError) as error:
        validate_postal_address(personalisation, allow_international_letters=international)
    assert error.value.message == message


@pytest.mark.parametrize(
    ("personalisation", "message"),
    [
        # Too few lines is reported before a bad first character or a bad postcode.
        (lines("[A", "Nowhere"), TOO_FEW_LINES),
        # Too many lines before the alphanumeric rule.
        (lines("-", "-", "3", "4", "5", "6", "7\n8"), TOO_MANY_LINES),
        # The alphanumeric rule before the postcode.
        (lines("-", "Town", "Nowhere"), FIRST_LINES_NOT_ALPHANUMERIC),
        # The postcode before a bad first character.
        (lines("A", "(B", "Nowhere"), NOT_A_UK_POSTCODE),
        # A bad first character before no fixed abode.
        (lines("A", "NFA", "<C", "SW1A 1AA"), INVALID_FIRST_CHARACTER),
    ],
)
def test_rules_are_checked_in_the_spec_order(personalisation: dict[str, str], message: str) -> None:
    assert address_problem(address_from_personalisation(personalisation)) == message


def test_uk_address_is_normalised() -> None:
    address = validate_postal_address(
        {
            "address_line_1": "  123 Example    St  .",
            "address_line_2": "City    of Town, Region,,",
            "postcode": "sw1a1aa",
        }
    )
    assert address.lines == ("123 Example St.", "City of Town, Region", "SW1A 1AA")
    assert address.postcode == "SW1A 1AA"
    assert address.international is False
    assert address.postage_zone is PostageZone.UNITED_KINGDOM
    assert address.get_fields() == {
        "line_1": "123 Example St.",
        "line_2": "City of Town, Region",
        "line_3": None,
        "line_4": None,
        "line_5": None,
        "line_6": None,
        "postcode": "SW1A 1AA",
    }


def test_blank_lines_and_trailing_commas_are_dropped() -> None:
    address = validate_postal_address(
        {
            "address_line_1": "Mx One,",
            "address_line_2": " , , ",
            "address_line_3": "",
            "address_line_4": "Town",
            "postcode": "N5 1AA",
        }
    )
    assert address.lines == ("Mx One", "Town", "N5 1AA")


def test_line_7_replaces_postcode_when_given() -> None:
    personalisation = {
        "address_line_1": "123 Example Street",
        "address_line_3": "City of Town",
        "address_line_7": "sw1a  1aa",
        "postcode": "ignored when address_line_7 is given",
    }
    assert validate_postal_address(personalisation).lines == ("123 Example Street", "City of Town", "SW1A 1AA")


def test_keys_match_whatever_their_case_and_separators() -> None:
    personalisation = {"Address Line 1": "123 Example Street", "ADDRESS_LINE_2": "City", "Address-Line-7": "Sw1a 1aa"}
    assert validate_postal_address(personalisation).lines == ("123 Example Street", "City", "SW1A 1AA")


def test_numbers_and_nones_in_personalisation() -> None:
    personalisation = {
        "address_line_1": 123,
        "address_line_2": "Example Street",
        "address_line_3": None,
        "postcode": "SW1A1AA",
    }
    assert validate_postal_address(personalisation).lines == ("123", "Example Street", "SW1A 1AA")


def test_seven_line_address_fills_the_get_representation() -> None:
    address = validate_postal_address(lines("1", "2", "3", "4", "5", "6", "SW1A 1AA"))
    assert address.get_fields() == {
        "line_1": "1",
        "line_2": "2",
        "line_3": "3",
        "line_4": "4",
        "line_5": "5",
        "line_6": "6",
        "postcode": "SW1A 1AA",
    }


@pytest.mark.parametrize(
    ("value", "formatted"),
    [
        ("SW1A1AA", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        (" SW1    3EF  ", "SW1 3EF"),
        ("n5 \u00a0 \t 3Ef", "N5 3EF"),
        ("SO146WB", "SO14 6WB"),
        ("SE1 63EF", "SE16 3EF"),
        ("EC1A1BB", "EC1A 1BB"),
        ("M11AE", "M1 1AE"),
        ("BF11AA", "BF1 1AA"),
        ("JE2 3AB", "JE2 3AB"),
        ("GY1 1AA", "GY1 1AA"),
        ("IM1 1AA", "IM1 1AA"),
    ],
)
def test_real_postcodes_are_formatted_outward_space_inward(value: str, formatted: str) -> None:
    assert format_postcode(value) == formatted


@pytest.mark.parametrize(
    "value",
    [
        "N5",
        "SO144 6WB",
        "SO14 6WBA",
        "NF1 1AA",
        "ZZ1 1AA",
        "",
        "Bad postcode",
        "BFPO 1234",
        "GIR0AA",
        "GX111AA",
        "SW1A 1CA",
    ],
)
def test_not_real_postcodes(value: str) -> None:
    assert format_postcode(value) is None


@pytest.mark.parametrize(
    ("raw", "expected_lines", "bfpo_number", "postcode"),
    [
        ("Mr X\nUnit 1\nBFPO 1", ("Mr X", "Unit 1", "BFPO 1"), 1, None),
        ("Mr X\nBFPO 1\nBF1 1AA", ("Mr X", "BF1 1AA", "BFPO 1"), 1, "BF1 1AA"),
        ("Mr X\nBFPO\nBFPO 1\nLondon", ("Mr X", "London", "BFPO 1"), 1, None),
        ("Mr X\nbfpo\nbf11aa\nbfpo1", ("Mr X", "BF1 1AA", "BFPO 1"), 1, "BF1 1AA"),
        ("Mr X\nBFPO C/O 5432\nBF1 1AA", ("Mr X", "BF1 1AA", "BFPO 5432"), 5432, "BF1 1AA"),
        (
            "Mr X\nUnit 5\nBFPO\nBFPO 5432\nLondon\nBF1 1AA",
            ("Mr X", "Unit 5", "London", "BF1 1AA", "BFPO 5432"),
            5432,
            "BF1 1AA",
        ),
    ],
)
def test_bfpo_addresses(raw: str, expected_lines: tuple[str, ...], bfpo_number: int, postcode: str | None) -> None:
    address = parse_postal_address(raw)
    assert address.lines == expected_lines
    assert address.bfpo_number == bfpo_number
    assert address.postcode == postcode
    assert address.international is False
    assert address_problem(address) is None


def test_bfpo_with_postcode_keeps_the_bfpo_line_in_personalisation() -> None:
    address = parse_postal_address("Mx One\nBFPO\nBFPO 123\nBF1 1AA")
    assert address.as_personalisation() == {
        "address_line_1": "Mx One",
        "address_line_2": "",
        "address_line_3": "",
        "address_line_4": "",
        "address_line_5": "",
        "address_line_6": "BF1 1AA",
        "address_line_7": "BFPO 123",
        "postcode": "BF1 1AA",
    }


def test_bfpo_postcode_is_not_a_bfpo_address() -> None:
    assert parse_postal_address("Mr X\nLondon\nBF1 1AA").is_bfpo is False


@pytest.mark.parametrize(
    ("last_line", "country", "zone", "postage"),
    [
        ("Deutschland", "Germany", PostageZone.EUROPE, Postage.EUROPE),
        ("Yr Almaen", "Germany", PostageZone.EUROPE, Postage.EUROPE),
        ("ESPAÑA", "Spain", PostageZone.EUROPE, Postage.EUROPE),
        ("Rep of Ireland", "Ireland", PostageZone.EUROPE, Postage.EUROPE),
        ("Canary Islands", "Canary Islands", PostageZone.EUROPE, Postage.EUROPE),
        ("u.s.a", "United States", PostageZone.REST_OF_WORLD, Postage.REST_OF_WORLD),
        ("Côte d'Ivoire", "Ivory Coast", PostageZone.REST_OF_WORLD, Postage.REST_OF_WORLD),
        ("Guinea-Bissau", "Guinea-Bissau", PostageZone.REST_OF_WORLD, Postage.REST_OF_WORLD),
    ],
)
def test_international_addresses_end_in_the_canonical_country(
    last_line: str, country: str, zone: PostageZone, postage: Postage
) -> None:
    address = validate_postal_address(lines("Mx One", "1 Example Street", last_line), allow_international_letters=True)
    assert address.lines == ("Mx One", "1 Example Street", country)
    assert address.international is True
    assert address.postcode is None
    assert address.postage_zone is zone
    assert postage_for(address, "second") == postage  # set automatically, whatever was asked for


@pytest.mark.parametrize("last_line", ["Jersey", "Guernsey", "Isle of Man", "Wales", "Scotland", "Cymru", "UK"])
def test_uk_country_names_are_dropped_and_the_postcode_checked(last_line: str) -> None:
    address = validate_postal_address(lines("Mx One", "1 Example Street", "JE2 3AB", last_line))
    assert address.lines == ("Mx One", "1 Example Street", "JE2 3AB")
    assert address.international is False
    assert postage_for(address, "first") == Postage.FIRST


def test_postage_values() -> None:
    assert [postage.value for postage in Postage] == ["first", "second", "economy", "europe", "rest-of-world"]
    assert [postage.value for postage in UK_POSTAGE] == ["first", "second", "economy"]


def test_empty_address_parses_without_error() -> None:
    address = parse_postal_address("")
    assert address.lines == ()
    assert address_problem(address) == TOO_FEW_LINES
    assert address.get_fields()["postcode"] is None
