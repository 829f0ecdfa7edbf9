"""The `/v1/auth` body (pay spec §7) in the §4.2 order: every required field, then types, then formats.

Nothing here ever echoes a value, so no card number or CVC can reach an error body or a log line (§13.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.pay.errors import invalid, missing
from services.pay.fields import STRING, blank, max_length, too_long
from services.pay.provider.base import Card
from services.pay.provider.cards import digits_only, well_formed

FIELDS = ("one_time_token", "card_number", "cvc", "expiry_date", "cardholder_name")
_CVC = re.compile(r"[0-9]{3,4}")
_EXPIRY = re.compile(r"(0[1-9]|1[0-2])/([0-9]{2})")


@dataclass(frozen=True)
class AuthorisationRequest:
    one_time_token: str
    card: Card


def validate_authorisation(body: dict[str, Any]) -> AuthorisationRequest:
    for name in FIELDS:
        if blank(body.get(name)):
            raise missing(name)
    for name in FIELDS:
        if not isinstance(body[name], str):
            raise invalid(name, STRING)
    number = digits_only(body["card_number"])
    if not well_formed(number):
        raise invalid("card_number", "Must be between 12 and 19 digits", status=422)
    if _CVC.fullmatch(body["cvc"]) is None:
        raise invalid("cvc", "Must be between 3 and 4 digits", status=422)
    expiry = _EXPIRY.fullmatch(body["expiry_date"])
    if expiry is None:
        raise invalid("expiry_date", "Must be a valid date with the format MM/YY", status=422)
    if too_long(body["cardholder_name"], 255):
        raise max_length("cardholder_name", 255)
    card = Card(
        number=number,
        cvc=body["cvc"],
        expiry_month=int(expiry.group(1)),
        expiry_year=2000 + int(expiry.group(2)),
        cardholder_name=body["cardholder_name"],
    )
    return AuthorisationRequest(body["one_time_token"], card)


REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(FIELDS),
    "properties": {
        "one_time_token": {"type": "string", "minLength": 1},
        "card_number": {"type": "string", "minLength": 12, "maxLength": 19},
        "cvc": {"type": "string", "minLength": 3, "maxLength": 4},
        "expiry_date": {"type": "string", "minLength": 5, "maxLength": 5},
        "cardholder_name": {"type": "string", "maxLength": 255},
    },
}
