"""Local validation of document details before a source is called (spec §10.4), so typing mistakes are shown on the
form and never cost the user one of their limited attempts.

Passports: ICAO 9303 check digits over the TD3 machine-readable zone's second line. Driving licences: the DVLA
number's structure must agree with the typed surname, birth date and initials (its last two characters are check
characters we cannot verify locally); DVA numbers are 8 digits.
"""

from __future__ import annotations

import re
from datetime import date

WEIGHTS = (7, 3, 1)
DVLA = re.compile(r"^[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z0-9]{2}$")
DVA = re.compile(r"^\d{8}$")
GBR_PASSPORT = re.compile(r"^\d{9}$")


def _value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise ValueError(char)


def check_digit(text: str) -> int:
    """ICAO 9303: weights 7, 3, 1 repeating; `0-9` → 0–9, `A-Z` → 10–35, `<` → 0; the sum modulo 10."""
    return sum(_value(c) * WEIGHTS[i % 3] for i, c in enumerate(text)) % 10


def _mrz_date(text: str, *, future: bool) -> date | None:
    """A YYMMDD date; the century is the one that puts a birth date in the past or an expiry near the present."""
    try:
        yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
        this = date.today().year % 100
        century = 2000 if (yy <= this + 20 if future else yy <= this) else 1900
        return date(century + yy, mm, dd)
    except ValueError:
        return None


def valid_td3_line2(line: str) -> bool:
    """Spec §10.4: the five check digits of a TD3 line 2 (44 characters), and real birth and expiry dates."""
    if len(line) != 44 or not all(c.isdigit() or "A" <= c <= "Z" or c == "<" for c in line):
        return False

    def digit_ok(field: str, digit: str) -> bool:
        return digit.isdigit() and check_digit(field) == int(digit)

    personal_ok = digit_ok(line[28:42], line[42]) or (set(line[28:42]) == {"<"} and line[42] in "<0")
    composite = line[0:10] + line[13:20] + line[21:43]
    return (
        digit_ok(line[0:9], line[9])
        and digit_ok(line[13:19], line[19])
        and digit_ok(line[21:27], line[27])
        and personal_ok
        and digit_ok(composite, line[43])
        and _mrz_date(line[13:19], future=False) is not None
        and _mrz_date(line[21:27], future=True) is not None
    )


def valid_gbr_passport_number(number: str) -> bool:
    return bool(GBR_PASSPORT.match(number))


def dvla_agrees(number: str, family_name: str, given_names: list[str], birth_date: date) -> bool:
    """Spec §10.4: the DVLA number's structure agrees with the typed details (women's month +50 accepted)."""
    if not DVLA.match(number):
        return False
    letters = "".join(c for c in family_name.upper() if "A" <= c <= "Z")
    # A `MAC` prefix may be written `MC` (uncertain in the spec), so both spellings are accepted.
    spellings = {letters, "MC" + letters[3:] if letters.startswith("MAC") else letters}
    surnames = {spelling[:5].ljust(5, "9") for spelling in spellings}
    initials = "".join(name[0].upper() for name in given_names if name)[:2].ljust(2, "9")
    month = int(number[6:8])
    return (
        number[:5] in surnames
        and number[5] == str(birth_date.year)[2]
        and month in (birth_date.month, birth_date.month + 50)
        and number[8:10] == f"{birth_date.day:02d}"
        and number[10] == str(birth_date.year)[3]
        and number[11:13] == initials
    )


def valid_dva_number(number: str) -> bool:
    return bool(DVA.match(number))
