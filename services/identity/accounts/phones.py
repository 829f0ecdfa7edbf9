"""Mobile numbers for texted codes (spec §9.2): what people type, normalised to E.164, and only in the countries
`IDENTITY_SMS_ALLOWED_COUNTRY_CODES` allows (a guard against SMS pumping: texts to premium ranges abroad).

A UK number may be typed the national way (`07700 900982`) or internationally (`+44 7700 900982`, `0044…`,
`447700900982`); spaces, dashes, dots and brackets are ignored. A UK number must be a mobile (`7` and 9 more
digits). Other countries, when allowed, are checked only for E.164's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.identity.i18n import N_

UK = "44"
_IGNORED = re.compile(r"[\s\-.()]")
_UK_MOBILE = re.compile(r"^7\d{9}$")


@dataclass(frozen=True)
class PhoneProblem(Exception):
    """Why a typed number cannot be used: a message id for the page."""

    message: str


def normalise(typed: str, allowed_codes: tuple[str, ...]) -> str:
    """The number in E.164 (`+447700900982`), or `PhoneProblem`."""
    text = _IGNORED.sub("", typed)
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0"):
        digits = UK + text[1:]
    else:
        digits = text
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise PhoneProblem(N_("Enter a mobile phone number in the correct format, like 07700 900982"))
    if digits.startswith(UK):
        if UK not in allowed_codes:
            raise PhoneProblem(N_("We cannot send text messages to phone numbers in that country"))
        if not _UK_MOBILE.match(digits[len(UK) :]):
            raise PhoneProblem(N_("Enter a UK mobile phone number, like 07700 900982"))
        return "+" + digits
    if not any(digits.startswith(code) for code in allowed_codes if code != UK):
        raise PhoneProblem(N_("We cannot send text messages to phone numbers in that country"))
    return "+" + digits


def ending(e164: str) -> str:
    """The last 3 digits: all a page shows of a number (enough to recognise it, not enough to learn it)."""
    return e164[-3:]
