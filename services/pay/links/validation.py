"""The internal API's payment-link documents (pay spec §15 B4), checked field by field.

Every problem is reported at once, each with its field and an English message the console shows beside that field
(and translates: the messages are message ids of the console's catalogue). Amounts are pence, within what a
payment may be (1 to 10,000,000); a link has a fixed amount or a payer-entered one, optionally within a minimum and
a maximum; a reference is generated for each payment unless the link has a label for the payer to enter one.
Metadata follows a payment's own rules (§5.1), since it is copied into each payment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from gaap.errors import Unprocessable
from services.pay.fields import MAX_AMOUNT, is_integer
from services.pay.links.models import SLUG_LENGTH
from services.pay.payments.validation import (
    LANGUAGES,
    METADATA_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_LENGTH,
    UNSAFE_CHARACTERS,
)

TEXT_LIMIT = 255
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DETAIL_FIELDS = (
    "title",
    "description",
    "amount",
    "min_amount",
    "max_amount",
    "reference_label",
    "reference_hint",
    "language",
    "metadata",
)
ADDRESS_FIELDS = ("service_slug", "slug")

NOT_TEXT = "Must be text"
NOT_PENCE = "Must be a whole number of pence"
MESSAGES = {
    "title": "Enter a title",
    "title_long": "The title must be 255 characters or fewer",
    "description": "Enter a description of what the payment is for",
    "description_long": "The description must be 255 characters or fewer",
    "description_characters": "The description must not include < > or |",
    "amount_range": "Enter an amount from £0.01 to £100,000",
    "fixed_with_range": "A link with a fixed amount has no minimum or maximum",
    "max_below_min": "The maximum must not be less than the minimum",
    "label_long": "The reference label must be 255 characters or fewer",
    "hint_long": "The reference hint must be 255 characters or fewer",
    "hint_without_label": "Only a reference the payer enters can have a hint",
    "language": "Select English or Welsh",
    "metadata": "Metadata is at most 15 columns, each named in 1 to 30 characters (names differing in more than "
    "case) with a value of text up to 100 characters, a number, or true or false",
    "slug": "Use only lower-case letters, numbers and hyphens, up to 60 characters",
    "no_slug": "Choose an address for the link: the title has no letters or numbers to make one from",
    "unknown": "Not a field of a payment link",
}


class InvalidLink(Unprocessable):
    """A document with problems: `errors` lists each as `{"field", "message"}`."""

    code = "InvalidPaymentLink"
    message = "The payment link is not valid"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors=errors)


@dataclass(frozen=True)
class LinkDetails:
    """What a link asks for and shows: everything but its address, which never changes once made."""

    title: str
    description: str
    amount: int | None
    min_amount: int | None
    max_amount: int | None
    reference_label: str | None
    reference_hint: str | None
    language: str
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class LinkAddress:
    """The slugs a new link asked for; None means "derive one" (from the service's name, from the title)."""

    service_slug: str | None
    slug: str | None


class _Problems:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        if all(error["field"] != field for error in self.errors):
            self.errors.append({"field": field, "message": message})

    def text(self, body: dict[str, Any], field: str, *, required: bool, long: str) -> str | None:
        value = body.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, MESSAGES[field])
            return None
        if not isinstance(value, str):
            self.add(field, NOT_TEXT)
            return None
        value = value.strip()
        if len(value) > TEXT_LIMIT:
            self.add(field, MESSAGES[long])
        return value

    def pence(self, body: dict[str, Any], field: str) -> int | None:
        value = body.get(field)
        if value is None:
            return None
        if not is_integer(value):
            self.add(field, NOT_PENCE)
            return None
        if not 1 <= value <= MAX_AMOUNT:
            self.add(field, MESSAGES["amount_range"])
        return int(value)


def slugify(text: str) -> str:
    """An address part from a name: ASCII letters (accents dropped, so Welsh `ŵ` is `w`), digits and hyphens."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:SLUG_LENGTH].rstrip("-")


def is_slug(value: str) -> bool:
    return len(value) <= SLUG_LENGTH and SLUG.fullmatch(value) is not None


def parse_details(body: dict[str, Any], *, allowed: tuple[str, ...] = DETAIL_FIELDS) -> LinkDetails:
    """A link's details from a create or update document; `InvalidLink` lists every problem."""
    problems = _Problems()
    details = _details(body, problems)
    _unknown(body, allowed, problems)
    if problems.errors:
        raise InvalidLink(problems.errors)
    assert details is not None
    return details


def parse_new_link(body: dict[str, Any]) -> tuple[LinkDetails, LinkAddress]:
    """A new link's details and the address it asks for."""
    problems = _Problems()
    details = _details(body, problems)
    address = LinkAddress(_slug(body, "service_slug", problems), _slug(body, "slug", problems))
    _unknown(body, DETAIL_FIELDS + ADDRESS_FIELDS, problems)
    if problems.errors:
        raise InvalidLink(problems.errors)
    assert details is not None
    return details, address


def _details(body: dict[str, Any], problems: _Problems) -> LinkDetails | None:
    title = problems.text(body, "title", required=True, long="title_long")
    description = problems.text(body, "description", required=True, long="description_long")
    if description is not None and not UNSAFE_CHARACTERS.isdisjoint(description):
        problems.add("description", MESSAGES["description_characters"])
    amount, low, high = (problems.pence(body, field) for field in ("amount", "min_amount", "max_amount"))
    if amount is not None and (low is not None or high is not None):
        problems.add("amount", MESSAGES["fixed_with_range"])
    if low is not None and high is not None and high < low:
        problems.add("max_amount", MESSAGES["max_below_min"])
    label = problems.text(body, "reference_label", required=False, long="label_long")
    hint = problems.text(body, "reference_hint", required=False, long="hint_long")
    if hint is not None and label is None:
        problems.add("reference_hint", MESSAGES["hint_without_label"])
    language = body.get("language", "en")
    if language not in LANGUAGES:
        problems.add("language", MESSAGES["language"])
    metadata = body.get("metadata")
    if metadata is not None and not _metadata_ok(metadata):
        problems.add("metadata", MESSAGES["metadata"])
    if problems.errors:
        return None
    assert title is not None
    assert description is not None
    return LinkDetails(title, description, amount, low, high, label, hint, language, metadata or None)


def _metadata_ok(value: Any) -> bool:
    """§5.1's metadata rules, which each payment made through the link must pass."""
    if not isinstance(value, dict) or len(value) > METADATA_MAX_KEYS:
        return False
    low, high = METADATA_KEY_LENGTH
    if any(not low <= len(key) <= high for key in value) or len({key.lower() for key in value}) != len(value):
        return False
    for item in value.values():
        if isinstance(item, str) and len(item) > METADATA_VALUE_LENGTH:
            return False
        if item is None or not isinstance(item, str | int | float):
            return False
    return True


def _slug(body: dict[str, Any], field: str, problems: _Problems) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not is_slug(value):
        problems.add(field, MESSAGES["slug"])
        return None
    return value


def _unknown(body: dict[str, Any], allowed: tuple[str, ...], problems: _Problems) -> None:
    for field in body:
        if field not in allowed:
            problems.add(field, MESSAGES["unknown"])
