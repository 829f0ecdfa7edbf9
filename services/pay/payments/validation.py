"""The create-payment body (pay spec §5.1), checked in the §4.2 order; the first failure wins.

Each step runs over every field before the next step starts, fields in `ORDER` (the order of §5.1's table):

2. required fields absent, null or blank → 400 P0101;
3. wrong JSON type → 400 P0102 with the §4.2 reason for the field's kind (metadata: 422);
4. `<`, `>` or `|` in `reference` or `description` → 400 P0102;
5. a field the authorisation mode forbids → 400 P0104;
6. right type, wrong value (ranges, lengths, enumerations, URLs, metadata rules) → 422 P0102;
7. account and business rules → P0941, P0940, P0196, P0195, P0942; then the agreement named by `set_up_agreement`
   (P0103) or `agreement_id` (400 P0102 unless `active`), which `agreements.service.check_payment` looks up.

A payment made through a payment link (§15 B4) also has its reference checked after step 4: one that looks like a
card number is 400 P0105.

Enumerations (`language`, `authorisation_mode`, `agreement_payment_type`) are checked as values only: anything
that is not one of the allowed strings is step 6's 422 with the enumeration's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.pay.accounts.models import Account
from services.pay.accounts.service import require_open
from services.pay.errors import PayError, invalid, missing, pay_error, unexpected
from services.pay.fields import (
    BOOLEAN,
    FIELD_STRING,
    NUMERIC,
    STRING,
    absent,
    amount_range,
    blank,
    is_integer,
    max_length,
    too_long,
)
from services.pay.provider.cards import contains_card_number

ORDER = (
    "amount",
    "reference",
    "description",
    "return_url",
    "language",
    "email",
    "prefilled_cardholder_details",
    "metadata",
    "delayed_capture",
    "moto",
    "authorisation_mode",
    "set_up_agreement",
    "agreement_id",
    "agreement_payment_type",
)
MODES = ("web", "moto_api", "agreement")
LANGUAGES = ("en", "cy")
AGREEMENT_PAYMENT_TYPES = ("instalment", "recurring", "unscheduled")
#: §5.1: the fields each mode forbids (step 5).
FORBIDDEN = {
    "web": ("agreement_id",),
    "moto_api": ("return_url", "set_up_agreement", "agreement_id"),
    "agreement": ("return_url", "email", "prefilled_cardholder_details", "set_up_agreement"),
}
ADDRESS_LIMITS = {"line1": 255, "line2": 255, "city": 255, "postcode": 25, "country": 255}
METADATA_MAX_KEYS = 15
METADATA_KEY_LENGTH = (1, 30)
METADATA_VALUE_LENGTH = 100
ID_LENGTH = 26
UNSAFE_CHARACTERS = frozenset("<>|")

P0196 = (
    "MOTO payments are not enabled for this account. Please contact support if you would like to process MOTO payments"
)
P0195 = "Using authorisation_mode of moto_api is not allowed for this account"
P0942 = "Recurring card payments are currently disabled for this service. Please contact support"
P0103 = "Invalid attribute value: set_up_agreement. Agreement ID does not exist"
P0105 = "Card number entered in a payment link reference"


@dataclass(frozen=True)
class PaymentRequest:
    """A valid create request, normalised: defaults applied, `{}` metadata and empty optional strings dropped."""

    amount: int
    reference: str
    description: str
    return_url: str | None
    language: str
    email: str | None
    prefilled: dict[str, Any] | None
    metadata: dict[str, Any] | None
    delayed_capture: bool
    moto: bool
    authorisation_mode: str
    #: The agreement a `web` payment saves its card to (§8).
    set_up_agreement: str | None = None
    #: The agreement an `agreement` payment is taken under.
    agreement_id: str | None = None
    agreement_payment_type: str | None = None


def validate_create(body: dict[str, Any], account: Account, *, from_link: bool = False) -> PaymentRequest:
    """The request, normalised; `from_link` for a payment a payer starts from a payment link."""
    requested = body.get("authorisation_mode")
    mode = requested if isinstance(requested, str) and requested in MODES else "web"
    steps = [_required, _types, _characters, _mode_rules]
    if from_link:
        steps.insert(3, _link_reference)
    for step in steps:
        step(body, mode)
    _values(body, account, mode)
    _account_rules(body, account, mode)
    return _normalised(body, mode)


# --- step 2 -----------------------------------------------------------------------------------------------------


def _required(body: dict[str, Any], mode: str) -> None:
    names = ["amount", "reference", "description"]
    if mode == "web":
        names.append("return_url")
    if mode == "agreement":
        names.append("agreement_id")
    for name in ORDER:
        if name in names and blank(body.get(name)):
            raise missing(name)


# --- step 3 -----------------------------------------------------------------------------------------------------


def _types(body: dict[str, Any], mode: str) -> None:
    kinds: dict[str, tuple[Callable[[Any], bool], str]] = {
        "amount": (is_integer, NUMERIC),
        "reference": (_is_str, STRING),
        "description": (_is_str, STRING),
        "return_url": (_is_str, STRING),
        "email": (_is_str, FIELD_STRING),
        "delayed_capture": (_is_bool, BOOLEAN),
        "moto": (_is_bool, BOOLEAN),
        "set_up_agreement": (_is_str, STRING),
        "agreement_id": (_is_str, STRING),
    }
    for name in ORDER:
        if name == "prefilled_cardholder_details" and not absent(body, name):
            _prefilled_types(body[name])
        elif name == "metadata" and name in body:
            _metadata_type(body[name])
        elif name in kinds and not absent(body, name):
            accepts, reason = kinds[name]
            if not accepts(body[name]):
                raise invalid(name, reason)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _prefilled_types(value: Any) -> None:
    if not isinstance(value, dict):
        raise invalid("prefilled_cardholder_details", "Must be an object")
    name = value.get("cardholder_name")
    if name is not None and not isinstance(name, str):
        raise invalid("cardholder_name", FIELD_STRING)
    address = value.get("billing_address")
    if address is None:
        return
    if not isinstance(address, dict):
        raise invalid("billing_address", "Must be an object")
    for member in ADDRESS_LIMITS:
        if address.get(member) is not None and not isinstance(address[member], str):
            raise invalid(member, FIELD_STRING)


def _metadata_type(value: Any) -> None:
    """§4.2: metadata's type errors are 422, not 400."""
    if value is None:
        raise invalid("metadata", "Value must not be null", status=422)
    if not isinstance(value, dict):
        raise invalid("metadata", "Must be an object of JSON key-value pairs", status=422)


# --- steps 4 and 5 ----------------------------------------------------------------------------------------------


def _characters(body: dict[str, Any], mode: str) -> None:
    for name in ("reference", "description"):
        if not UNSAFE_CHARACTERS.isdisjoint(body[name]):
            raise invalid(name, STRING)


def _link_reference(body: dict[str, Any], mode: str) -> None:
    """§15 B4: a payment link's payer must not put a card number in the reference."""
    if contains_card_number(body["reference"]):
        raise pay_error(400, "P0105", P0105, field="reference")


def _mode_rules(body: dict[str, Any], mode: str) -> None:
    for name in ORDER:
        if absent(body, name):
            continue
        if name in FORBIDDEN[mode]:
            raise unexpected(name)
        if name == "agreement_payment_type" and mode != "agreement" and absent(body, "set_up_agreement"):
            raise unexpected(name)


# --- step 6 -----------------------------------------------------------------------------------------------------


def _values(body: dict[str, Any], account: Account, mode: str) -> None:
    minimum = 0 if account.allow_zero_amount else 1
    checks: dict[str, Callable[[Any], PayError | None]] = {
        "amount": lambda v: amount_range("amount", v, minimum),
        "reference": lambda v: max_length("reference", 255) if too_long(v, 255) else None,
        "description": lambda v: max_length("description", 255) if too_long(v, 255) else None,
        "return_url": lambda v: _return_url(v, account),
        "language": lambda v: None if v in LANGUAGES else invalid("language", 'Must be "en" or "cy"', status=422),
        "email": lambda v: max_length("email", 254) if too_long(v, 254) else None,
        "prefilled_cardholder_details": _prefilled_lengths,
        "metadata": _metadata_rules,
        "delayed_capture": lambda v: (
            invalid("delayed_capture", "Must be false for agreement payments", status=422)
            if v and mode == "agreement"
            else None
        ),
        "authorisation_mode": lambda v: (
            None if v in MODES else invalid("authorisation_mode", "Must be one of web, moto_api, agreement", status=422)
        ),
        "set_up_agreement": lambda v: _agreement_id("set_up_agreement", v),
        "agreement_id": lambda v: _agreement_id("agreement_id", v),
        "agreement_payment_type": lambda v: (
            None
            if v in AGREEMENT_PAYMENT_TYPES
            else invalid("agreement_payment_type", "Must be one of instalment, recurring, unscheduled", status=422)
        ),
    }
    for name in ORDER:
        if name in checks and not absent(body, name):
            error = checks[name](body[name])
            if error is not None:
                raise error


def _return_url(value: str, account: Account) -> PayError | None:
    if too_long(value, 2000):
        return max_length("return_url", 2000)
    if not _is_url(value):
        return invalid("return_url", "Must be a valid URL format", status=422)
    if account.mode == "live" and not value.startswith("https://"):
        return invalid("return_url", "Must begin with https:// for a live gateway account", status=422, code="P0920")
    return None


def _is_url(value: str) -> bool:
    """An absolute http(s) URL with a host, and no whitespace or control characters."""
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and value.lower().startswith(parts.scheme + "://") and bool(host)


def _prefilled_lengths(value: dict[str, Any]) -> PayError | None:
    name = value.get("cardholder_name")
    if name is not None and too_long(name, 255):
        return max_length("cardholder_name", 255)
    address = value.get("billing_address") or {}
    for member, limit in ADDRESS_LIMITS.items():
        if address.get(member) is not None and too_long(address[member], limit):
            return max_length(member, limit)
    return None


def _metadata_rules(value: dict[str, Any]) -> PayError | None:
    """Every broken rule, joined by `. ` in a fixed order (§5.1)."""
    problems = []
    if len(value) > METADATA_MAX_KEYS:
        problems.append(f"Cannot have more than {METADATA_MAX_KEYS} key-value pairs")
    low, high = METADATA_KEY_LENGTH
    if any(not low <= len(key) <= high for key in value):
        problems.append(f"Keys must be between {low} and {high} characters long")
    if len({key.lower() for key in value}) != len(value):
        problems.append("Must have case insensitive unique keys")
    values = list(value.values())
    if any(v is None for v in values):
        problems.append("Must not have null values")
    if any(v is not None and not isinstance(v, str | int | float) for v in values):
        problems.append("Values must be of type String, Boolean or Number")
    if any(isinstance(v, str) and len(v) > METADATA_VALUE_LENGTH for v in values):
        problems.append(f"Values must be no greater than {METADATA_VALUE_LENGTH} characters long")
    return invalid("metadata", ". ".join(problems), status=422) if problems else None


def _agreement_id(field: str, value: str) -> PayError | None:
    if len(value) != ID_LENGTH:
        return invalid(field, f"Must be exactly {ID_LENGTH} characters length", status=422)
    return None


# --- step 7 -----------------------------------------------------------------------------------------------------


def _account_rules(body: dict[str, Any], account: Account, mode: str) -> None:
    require_open(account)
    if body.get("moto") is True and not account.allow_moto:
        raise pay_error(422, "P0196", P0196)
    if mode == "moto_api" and not account.allow_moto_api:
        raise pay_error(422, "P0195", P0195)
    if mode == "agreement" and not account.recurring_enabled:
        raise pay_error(422, "P0942", P0942)


def _normalised(body: dict[str, Any], mode: str) -> PaymentRequest:
    prefilled = body.get("prefilled_cardholder_details")
    metadata = body.get("metadata")
    return PaymentRequest(
        amount=body["amount"],
        reference=body["reference"],
        description=body["description"],
        return_url=body.get("return_url") if mode == "web" else None,
        language=body.get("language") or "en",
        email=body.get("email") or None,
        prefilled=prefilled or None,
        metadata=metadata or None,
        delayed_capture=bool(body.get("delayed_capture")),
        moto=bool(body.get("moto")),
        authorisation_mode=mode,
        set_up_agreement=body.get("set_up_agreement") if mode == "web" else None,
        agreement_id=body.get("agreement_id") if mode == "agreement" else None,
        agreement_payment_type=body.get("agreement_payment_type"),
    )


#: The request body in the OpenAPI document, from the same limits and enumerations as the checks above.
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "reference", "description"],
    "properties": {
        "amount": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
        "reference": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": {"type": "string", "minLength": 1, "maxLength": 255},
        "return_url": {"type": "string", "maxLength": 2000, "format": "uri"},
        "language": {"type": "string", "enum": list(LANGUAGES)},
        "email": {"type": "string", "maxLength": 254},
        "prefilled_cardholder_details": {
            "type": "object",
            "properties": {
                "cardholder_name": {"type": "string", "maxLength": 255},
                "billing_address": {
                    "type": "object",
                    "properties": {m: {"type": "string", "maxLength": n} for m, n in ADDRESS_LIMITS.items()},
                },
            },
        },
        "metadata": {
            "type": "object",
            "maxProperties": METADATA_MAX_KEYS,
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "delayed_capture": {"type": "boolean"},
        "moto": {"type": "boolean"},
        "authorisation_mode": {"type": "string", "enum": list(MODES)},
        "set_up_agreement": {"type": "string", "minLength": ID_LENGTH, "maxLength": ID_LENGTH},
        "agreement_id": {"type": "string", "minLength": ID_LENGTH, "maxLength": ID_LENGTH},
        "agreement_payment_type": {"type": "string", "enum": list(AGREEMENT_PAYMENT_TYPES)},
    },
}
