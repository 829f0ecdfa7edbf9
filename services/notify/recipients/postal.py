"""Postal addresses: assemble, normalise and check a letter's address, and work out its postage.

A letter's address arrives as personalisation (`address_line_1`…`address_line_7`, `postcode`) and leaves as
the lines printed in the envelope window, so normalising and validating are one job: the rules (spec
§10.3, after alphagov/notifications-utils `recipient_validation/postal_address.py` and the API's
`validate_address`) are judged on the normalised lines, and the first rule broken, in the spec's order,
gives the exact `ValidationError` message. Parsing never fails; `address_problem` says what is wrong.

What the last line may be:

- a real UK postcode, re-formatted `OUTWARD INWARD` (a UK country name after it, such as `Wales` or
  `Jersey`, is dropped, since Royal Mail delivers there as UK mail);
- `BFPO <n>` anywhere in the address, which is moved to the end (British Forces Post Office);
- with the service permission `international_letters`, another country (see `countries`), shown by its
  canonical name; its postage is then the country's zone, whatever postage was asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.notify.recipients.countries import UNITED_KINGDOM, Country, PostageZone, find_country, uk_postcode_areas

__all__ = [
    "BFPO_WITH_COUNTRY",
    "FIRST_LINES_NOT_ALPHANUMERIC",
    "INVALID_FIRST_CHARACTER",
    "NOT_A_POSTCODE_OR_COUNTRY",
    "NOT_A_UK_POSTCODE",
    "NO_FIXED_ABODE",
    "TOO_FEW_LINES",
    "TOO_MANY_LINES",
    "UK_POSTAGE",
    "InvalidAddressError",
    "Postage",
    "PostalAddress",
    "address_from_personalisation",
    "address_problem",
    "format_postcode",
    "parse_postal_address",
    "postage_for",
    "validate_postal_address",
]

MIN_LINES = 3
MAX_LINES = 7
TOO_FEW_LINES = f"Address must be at least {MIN_LINES} lines"
TOO_MANY_LINES = f"Address must be no more than {MAX_LINES} lines"
FIRST_LINES_NOT_ALPHANUMERIC = "The first 2 lines of the address must both include at least one alphanumeric character"
BFPO_WITH_COUNTRY = "The last line of a BFPO address must not be a country."
NOT_A_POSTCODE_OR_COUNTRY = "Last line of address must be a real UK postcode or another country"
NOT_A_UK_POSTCODE = "Must be a real UK postcode"
# The message shows a right double quote (U+201D) where the rule checks the ASCII `"`, and leaves out
# `~`: both as in GOV.UK Notify, whose message is part of the public contract.
INVALID_FIRST_CHARACTER = (
    "Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >"
)
NO_FIXED_ABODE = "Must be a real address"

_FORBIDDEN_FIRST_CHARACTERS = tuple('@()=[]"\\/,<>~')
"""Characters the printing provider cannot accept at the start of a line."""
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u180e\u200b\u200c\u200d\u2060\ufeff"))
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
_BFPO_LINE = re.compile(r"bfpo\s*(?:c/o)?(?:\s*([0-9]+))?")
_NO_FIXED_ABODE = re.compile(r"no fixed (?:abode|address)", re.IGNORECASE)
_LINE_KEYS = tuple(f"addressline{number}" for number in range(1, 8))


class Postage(StrEnum):
    """Postage a letter can carry; the last two are set automatically for international addresses."""

    FIRST = "first"
    SECOND = "second"
    ECONOMY = "economy"
    EUROPE = "europe"
    REST_OF_WORLD = "rest-of-world"


UK_POSTAGE = (Postage.FIRST, Postage.SECOND, Postage.ECONOMY)
"""The postage a service may choose, for UK (and BFPO) letters only."""


class InvalidAddressError(ValueError):
    """The address breaks a rule; `message` is the exact text of the v2 `ValidationError`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _normalise_postcode(value: str) -> str:
    return "".join(character for character in value if not character.isspace()).translate(_ZERO_WIDTH).upper()


def format_postcode(value: str) -> str | None:
    """`sw1a1aa` -> `SW1A 1AA` if the value is a real UK postcode (its area exists), else None."""
    compact = _normalise_postcode(value)
    match = re.fullmatch(r"([A-Z]{1,2})[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{2}", compact)
    if match is None or match.group(1) not in uk_postcode_areas():
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _normalise_line(line: str) -> str:
    """Collapse whitespace, drop trailing commas and spaces before punctuation (`St .` -> `St.`)."""
    collapsed = " ".join(line.translate(_ZERO_WIDTH).split()).rstrip(" ,")
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", collapsed)


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """An address as it will be printed, with what validation and postage need to know."""

    lines: tuple[str, ...]
    """The normalised lines, in order: postcode re-formatted, `BFPO <n>` last, a country by its canonical name."""
    postcode: str | None
    """The formatted UK postcode, or None (international, BFPO without postcode, or no real postcode)."""
    country: Country
    bfpo_number: int | None
    allow_international_letters: bool

    @property
    def international(self) -> bool:
        return not self.country.is_uk

    @property
    def postage_zone(self) -> PostageZone:
        return self.country.postage_zone

    @property
    def is_bfpo(self) -> bool:
        return self.bfpo_number is not None

    def as_personalisation(self) -> dict[str, str]:
        """The normalised address as `address_line_1`…`7` and `postcode`, laid out as GOV.UK Notify stores it.

        The last line is both `address_line_7` and `postcode`; a BFPO address with a postcode keeps the
        postcode in `address_line_6`/`postcode` and the `BFPO <n>` line in `address_line_7`.
        """
        bfpo_with_postcode = self.is_bfpo and self.postcode is not None
        body = self.lines[: -2 if bfpo_with_postcode else -1]
        fields = {f"address_line_{number}": "" for number in range(1, 7)}
        fields.update({f"address_line_{number}": line for number, line in enumerate(body[:6], start=1)})
        last = self.lines[-1] if self.lines else ""
        fields["address_line_7"] = fields["postcode"] = last
        if bfpo_with_postcode:
            fields["address_line_6"] = fields["postcode"] = self.postcode or ""
        elif self.is_bfpo:
            fields["postcode"] = ""
        return fields

    def get_fields(self) -> dict[str, str | None]:
        """`line_1`…`line_6` and `postcode` for the GET representation (spec §17); blank lines are null."""
        personalisation = self.as_personalisation()
        fields: dict[str, str | None] = {
            f"line_{number}": personalisation[f"address_line_{number}"] or None for number in range(1, 7)
        }
        fields["postcode"] = personalisation["postcode"] or None
        return fields


def _split_bfpo(lines: list[str]) -> tuple[int | None, list[str]]:
    """Find the first `BFPO <n>` line and drop every BFPO line (a bare `BFPO` line is noise)."""
    matches = [_BFPO_LINE.fullmatch(line.lower()) for line in lines]
    number = next((int(match.group(1)) for match in matches if match and match.group(1)), None)
    if number is None:
        return None, lines
    return number, [line for line, match in zip(lines, matches, strict=True) if match is None]


def parse_postal_address(raw: str, *, allow_international_letters: bool = False) -> PostalAddress:
    """Normalise an address given as text, one line per line; never raises."""
    lines = [normalised for line in raw.splitlines() if (normalised := _normalise_line(line))]
    bfpo_number, lines = _split_bfpo(lines)
    country = find_country(lines[-1]) if lines else None
    if country is not None:
        lines = lines[:-1]
    country = country or UNITED_KINGDOM
    postcode = None if not country.is_uk or not lines else format_postcode(lines[-1])
    if postcode is not None:
        lines = [*lines[:-1], postcode]
    if bfpo_number is not None:
        lines.append(f"BFPO {bfpo_number}")
    if not country.is_uk:
        lines.append(country.name)
    return PostalAddress(tuple(lines), postcode, country, bfpo_number, allow_international_letters)


def _field_key(key: str) -> str:
    return "".join(character for character in key.casefold() if character not in " _-")


def address_from_personalisation(
    personalisation: Mapping[str, object], *, allow_international_letters: bool = False
) -> PostalAddress:
    """Assemble the address from personalisation: lines 1–6 and `postcode`, or lines 1–7 if line 7 is given.

    Keys match whatever their case and separators (`Address Line 1`, `ADDRESS_LINE_1`), like placeholders.
    """
    fields = {_field_key(key): value for key, value in personalisation.items()}
    keys = _LINE_KEYS if "addressline7" in fields else (*_LINE_KEYS[:6], "postcode")
    raw = "\n".join("" if fields.get(key) is None else str(fields[key]) for key in keys)
    return parse_postal_address(raw, allow_international_letters=allow_international_letters)


def _has_valid_last_line(address: PostalAddress) -> bool:
    if address.is_bfpo:
        return not address.international
    return address.postcode is not None or (address.international and address.allow_international_letters)


def address_problem(address: PostalAddress) -> str | None:
    """The message for the first rule the address breaks, in the order of spec §10.3, or None if valid."""
    lines = address.lines
    if len(lines) < MIN_LINES:
        return TOO_FEW_LINES
    if len(lines) > MAX_LINES:
        return TOO_MANY_LINES
    if not all(any(character.isalnum() for character in line) for line in lines[:2]):
        return FIRST_LINES_NOT_ALPHANUMERIC
    if address.is_bfpo and address.international:
        return BFPO_WITH_COUNTRY
    if not _has_valid_last_line(address):
        return NOT_A_POSTCODE_OR_COUNTRY if address.allow_international_letters else NOT_A_UK_POSTCODE
    if any(line.startswith(_FORBIDDEN_FIRST_CHARACTERS) for line in lines):
        return INVALID_FIRST_CHARACTER
    if any(line.casefold() == "nfa" for line in lines) or _NO_FIXED_ABODE.search("\n".join(lines)):
        return NO_FIXED_ABODE
    return None


def validate_postal_address(
    personalisation: Mapping[str, object], *, allow_international_letters: bool = False
) -> PostalAddress:
    """Assemble and check a letter's address, raising `InvalidAddressError` with the first rule broken."""
    address = address_from_personalisation(personalisation, allow_international_letters=allow_international_letters)
    problem = address_problem(address)
    if problem is not None:
        raise InvalidAddressError(problem)
    return address


def postage_for(address: PostalAddress, requested: str) -> Postage:
    """The postage a letter goes with: its zone when international, otherwise what the service asked for.

    `requested` is the template's or the request's UK postage, already checked against `UK_POSTAGE`.
    """
    if address.international:
        return Postage(address.postage_zone.value)
    return Postage(requested)
