"""Card-number rules every provider shares (pay spec §13.3, §13.4): digits, length, Luhn and brand detection.

Brands are detected by the longest matching prefix; length is checked separately (12–19 digits).
"""

from __future__ import annotations

import re

#: Brand key -> label shown in `card_details.card_brand` (§5.2).
BRAND_LABELS = {
    "visa": "Visa",
    "master-card": "Mastercard",
    "american-express": "American Express",
    "diners-club": "Diners Club",
    "discover": "Discover",
    "jcb": "Jcb",
    "unionpay": "Union Pay",
    "maestro": "Maestro",
}

#: (brand, first prefix, last prefix) per §13.4; both ends have the same number of digits.
_RANGES = [
    ("visa", "4", "4"),
    ("master-card", "51", "55"),
    ("master-card", "2221", "2720"),
    ("american-express", "34", "34"),
    ("american-express", "37", "37"),
    ("diners-club", "300", "305"),
    ("diners-club", "36", "36"),
    ("diners-club", "38", "39"),
    ("discover", "6011", "6011"),
    ("discover", "644", "649"),
    ("discover", "65", "65"),
    ("jcb", "3528", "3589"),
    ("unionpay", "62", "62"),
    ("unionpay", "81", "81"),
    ("maestro", "493698", "493698"),
    ("maestro", "500000", "504174"),
    ("maestro", "504176", "506698"),
    ("maestro", "506779", "508999"),
    ("maestro", "56", "59"),
    ("maestro", "63", "63"),
    ("maestro", "67", "67"),
]
MIN_LENGTH, MAX_LENGTH = 12, 19
#: A run of digits, with single spaces or hyphens between groups, as a card number is often typed.
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")


def digits_only(number: str) -> str:
    """The number without the spaces a person may type."""
    return number.replace(" ", "")


def well_formed(number: str) -> bool:
    return number.isascii() and number.isdigit() and MIN_LENGTH <= len(number) <= MAX_LENGTH


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def detect_brand(number: str) -> str | None:
    """The §13.4 brand key of the longest matching prefix, or None."""
    best: tuple[int, str] | None = None
    for brand, low, high in _RANGES:
        size = len(low)
        if len(number) >= size and low <= number[:size] <= high and (best is None or size > best[0]):
            best = (size, brand)
    return best[1] if best else None


def contains_card_number(text: str) -> bool:
    """Whether `text` holds something that looks like a card number (pay spec §15 B4): a Luhn-valid run of 12–19
    digits, typed whole or in groups separated by single spaces or hyphens."""
    for run in _DIGIT_RUN.findall(text):
        for candidate in {run.replace(" ", "").replace("-", ""), *re.findall(r"[0-9]+", run)}:
            if MIN_LENGTH <= len(candidate) <= MAX_LENGTH and luhn_valid(candidate):
                return True
    return False
