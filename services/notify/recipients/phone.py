"""Phone numbers: parse, normalise and check a text-message recipient the way GOV.UK Notify does.

Parsing uses libphonenumber (the `phonenumbers` port) with GB as the default region, wrapped in the
extra rules Notify has grown over the years (alphagov/notifications-utils, `recipient_validation/
phone_number.py`). Those rules exist because of where numbers come from: spreadsheets drop a leading
`+`, people type `0+44…` or `(0)`, and libphonenumber does not know the Ofcom drama range. The messages
are part of the public API (notify spec §4.2, §4.3, §10.1), so they live here as constants and nowhere
else.

Three steps, used at different stages of a send:

- `parse_phone_number` answers "is this a phone number, and which one?" (no service context);
- `validate_phone_number` adds the one rule the schema stage applies: the country must be one we can
  send text messages to;
- `check_sms_permissions` applies the service's permissions on the send path.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

__all__ = [
    "CANNOT_SEND_INTERNATIONAL",
    "EMERGENCY_NUMBER",
    "INVALID_COUNTRY_PREFIX",
    "INVALID_NUMBER",
    "NOT_A_UK_MOBILE",
    "SMOKE_TEST_NUMBERS",
    "TOO_LONG",
    "TOO_SHORT",
    "UNKNOWN_CHARACTER",
    "InvalidPhoneError",
    "PhoneNumber",
    "SmsRecipientRefused",
    "check_sms_permissions",
    "is_smoke_test_number",
    "parse_phone_number",
    "simulated_sms_status",
    "sms_rate_multiplier",
    "validate_phone_number",
]

TOO_SHORT = "Not enough digits"
TOO_LONG = "Too many digits"
INVALID_COUNTRY_PREFIX = "Not a valid country prefix"
UNKNOWN_CHARACTER = "Must not contain letters or symbols"
EMERGENCY_NUMBER = "Phone number cannot be an emergency number"
INVALID_NUMBER = "Number is not valid \u2013 double check the phone number you entered"
CANNOT_SEND_INTERNATIONAL = "Cannot send to international mobile numbers"
NOT_A_UK_MOBILE = "Not a UK mobile number"

UK_COUNTRY_CODE = 44
_ZERO_WIDTH = "\u180e\u200b\u200c\u200d\u2060\ufeff"
"""Invisible characters that arrive from copy and paste; treated as whitespace and removed."""
_ASCII_DIGITS = frozenset("0123456789")
_ALLOWED_CHARACTERS = _ASCII_DIGITS | frozenset("()-+")
"""Stricter than libphonenumber, which would read letters as keypad digits (`0800 FLOWERS`)."""
_EMERGENCY = frozenset({999, 112})
_ALLOWED_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.UAN,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)
_LANDLINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.UAN})
_REASON_MESSAGES = {
    ValidationResult.TOO_LONG: TOO_LONG,
    ValidationResult.TOO_SHORT: TOO_SHORT,
    # A number that is only possible without its area code is, for sending purposes, too short.
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: TOO_SHORT,
    ValidationResult.INVALID_COUNTRY_CODE: INVALID_COUNTRY_PREFIX,
}
_PARSE_ERROR_MESSAGES = {
    NumberParseException.INVALID_COUNTRY_CODE: INVALID_COUNTRY_PREFIX,
    NumberParseException.TOO_SHORT_AFTER_IDD: TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: TOO_SHORT,
    NumberParseException.TOO_LONG: TOO_LONG,
}

SMOKE_TEST_NUMBERS = frozenset({"447700900000", "447700900111", "447700900222"})
"""Smoke-test recipients (spec §3.5): validated, answered with a 201, never stored or sent."""
_SIMULATED_STATUSES = (("7700900003", "temporary-failure"), ("7700900002", "permanent-failure"))


class InvalidPhoneError(ValueError):
    """The value is not a phone number Notify accepts; `message` is the exact public text.

    The schema stage reports it as `phone_number <message>` (spec §4.2).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SmsRecipientRefused(Exception):
    """A valid number this service may not text. `error` is the v2 error name the API must report."""

    def __init__(self, error: Literal["BadRequestError", "InvalidPhoneError"], message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A parsed recipient, with what the send path and billing need to know about it."""

    to: str
    """The input without whitespace, as stored on the notification."""
    normalised_to: str
    """E.164 without the `+`, e.g. `447700900123`; used for matching, guest lists and providers."""
    international: bool
    """False only for Great Britain and the drama range; Crown dependencies (+44 1534…) are international."""
    phone_prefix: str
    """The country calling code, or a NANP country's 4-digit prefix (e.g. `1664`) when it is billed apart."""
    is_uk_landline: bool
    """A +44 fixed-line, UAN or fixed-or-mobile number (Crown dependencies included, as in the reference)."""
    rate_multiplier: int | None
    """How many UK text messages one fragment costs; None when the country cannot receive our SMS."""


@cache
def _rate_table() -> dict[str, int]:
    raw = resources.files("services.notify.recipients.data").joinpath("sms_rates.json").read_text("utf-8")
    return {str(prefix): int(rate) for prefix, rate in json.loads(raw)["rate_multipliers"].items()}


def sms_rate_multiplier(phone_prefix: str) -> int | None:
    """The multiplier for an international prefix from the committed table, or None if we cannot send there."""
    return _rate_table().get(phone_prefix)


def _is_whitespace(character: str) -> bool:
    return character.isspace() or character in _ZERO_WIDTH


def _without_whitespace(value: str) -> str:
    return "".join(character for character in value if not _is_whitespace(character))


def _is_drama_number(number: phonenumbers.PhoneNumber) -> bool:
    """Ofcom reserves 07700 900000–900999 for fiction; libphonenumber calls them invalid, Notify accepts them."""
    national = str(number.national_number)
    return number.country_code == UK_COUNTRY_CODE and len(national) == 10 and national.startswith("7700900")


def _forced_international(digits: str) -> phonenumbers.PhoneNumber | None:
    """Retry as `+<digits>`: a spreadsheet may have eaten the `+` of an international number."""
    try:
        number = phonenumbers.parse("+" + digits)
    except NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _parse_once(value: str) -> phonenumbers.PhoneNumber:
    """One attempt at parsing, raising the Notify message for the first rule the value breaks."""
    if not all(character in _ALLOWED_CHARACTERS or _is_whitespace(character) for character in value):
        raise InvalidPhoneError(UNKNOWN_CHARACTER)
    compact = _without_whitespace(value)
    if not compact:
        raise InvalidPhoneError(TOO_SHORT)
    try:
        number = phonenumbers.parse(compact, "GB")
    except NumberParseException as error:
        raise InvalidPhoneError(_PARSE_ERROR_MESSAGES.get(error.error_type, INVALID_NUMBER)) from error
    if number.country_code == UK_COUNTRY_CODE and number.national_number in _EMERGENCY:
        raise InvalidPhoneError(EMERGENCY_NUMBER)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        forced = _forced_international("".join(character for character in compact if character in _ASCII_DIGITS))
        if forced is None:
            raise InvalidPhoneError(_REASON_MESSAGES.get(reason, INVALID_NUMBER))
        number = forced
    if _is_drama_number(number):
        return number
    # Premium rate and the other unlisted types are refused with the general message, as in the reference.
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _ALLOWED_TYPES:
        raise InvalidPhoneError(INVALID_NUMBER)
    return number


def _thoroughly_normalised(value: str) -> str:
    """The second chance: drop every `+`, make digits ASCII, strip leading zeros (`0+44…`, `+07…`, `٠٧…`)."""
    ascii_digits = "".join(
        str(unicodedata.decimal(character)) if character.isdecimal() else character for character in value
    )
    return _without_whitespace(ascii_digits.replace("+", "")).lstrip("0")


def _phone_prefix(number: phonenumbers.PhoneNumber) -> str:
    """NANP countries share +1 but are billed by their 4-digit prefix when the rate table lists it."""
    if number.country_code == 1:
        area = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:5]
        if area in _rate_table():
            return area
    return str(number.country_code)


@lru_cache(maxsize=4096)
def parse_phone_number(value: str) -> PhoneNumber:
    """Parse a recipient, or raise `InvalidPhoneError` with the exact public message.

    Memoised (a pure function of the text, and the costliest step of a send): the send path parses each recipient
    twice (the smoke-test check, then the send), and a bulk job's file often repeats a number.

    If the first attempt fails for any reason, the value is thoroughly normalised and parsed again; the
    second attempt's error is the one reported. This is what accepts `0+447700900100`, and also why
    `077009001234` (one digit too many for the UK) comes back as a +7 number: both quirks are kept on
    purpose for parity with GOV.UK Notify (spec §10.1).
    """
    try:
        number = _parse_once(value)
    except InvalidPhoneError as error:
        if error.message == EMERGENCY_NUMBER:
            raise  # not a near miss to forgive: `+44 999` must not become some other number
        number = _parse_once(_thoroughly_normalised(value))
    international = phonenumbers.region_code_for_number(number) != "GB" and not _is_drama_number(number)
    prefix = _phone_prefix(number)
    return PhoneNumber(
        to=_without_whitespace(value),
        normalised_to=phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:],
        international=international,
        phone_prefix=prefix,
        is_uk_landline=number.country_code == UK_COUNTRY_CODE and phonenumbers.number_type(number) in _LANDLINE_TYPES,
        rate_multiplier=sms_rate_multiplier(prefix) if international else 1,
    )


def validate_phone_number(value: str) -> PhoneNumber:
    """The schema-stage check: a parseable number in a country we can send text messages to."""
    number = parse_phone_number(value)
    if number.rate_multiplier is None:
        raise InvalidPhoneError(INVALID_COUNTRY_PREFIX)
    return number


def check_sms_permissions(number: PhoneNumber, permissions: Collection[str]) -> None:
    """Apply the service's permissions on the send path (spec §10.1), raising `SmsRecipientRefused`.

    International numbers, Crown dependencies included, need `international_sms`; UK landlines need
    `sms_to_uk_landlines`. The country check repeats the schema stage's so this is safe to call alone.
    """
    if number.international and "international_sms" not in permissions:
        raise SmsRecipientRefused("BadRequestError", CANNOT_SEND_INTERNATIONAL)
    if number.is_uk_landline and "sms_to_uk_landlines" not in permissions:
        raise SmsRecipientRefused("InvalidPhoneError", NOT_A_UK_MOBILE)
    if number.rate_multiplier is None:
        raise SmsRecipientRefused("InvalidPhoneError", INVALID_COUNTRY_PREFIX)


def is_smoke_test_number(value: str) -> bool:
    """Whether any spelling of the value (`07700900000`, `+44 7700 900000`…) is a smoke-test number."""
    try:
        return parse_phone_number(value).normalised_to in SMOKE_TEST_NUMBERS
    except InvalidPhoneError:
        return False


def simulated_sms_status(normalised_to: str) -> str:
    """The final status a test-key text message gets (spec §3.5): failures by number ending, else delivered."""
    for ending, status in _SIMULATED_STATUSES:
        if normalised_to.endswith(ending):
            return status
    return "delivered"
