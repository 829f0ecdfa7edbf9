"""The create-agreement body (pay spec §8) in the §4.2 order, and the agreement search's parameters (§5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.pay.accounts.models import Account
from services.pay.agreements.models import STATUSES
from services.pay.errors import PayError, invalid, missing, pay_error
from services.pay.fields import STRING, absent, blank, max_length, too_long
from services.pay.paging import Paging, Query, one_of, text

FIELDS = ("reference", "description", "user_identifier")
REQUIRED = ("reference", "description")
LIMIT = 255
UNSAFE_CHARACTERS = frozenset("<>|")
MISSING, INVALID = "P2101", "P2102"
P0942 = "Recurring card payments are currently disabled for this service. Please contact support"


@dataclass(frozen=True)
class AgreementRequest:
    reference: str
    description: str
    user_identifier: str | None


def validate_create(body: dict[str, Any], account: Account) -> AgreementRequest:
    """The request, or the first §4.2 failure: 400 P2101, 400 P2102 (type; `<`, `>`, `|` in `reference` or
    `description`), 422 P2102 (length), then
    422 P0942 when the account has recurring payments switched off. An empty `user_identifier` counts as absent."""
    for name in REQUIRED:
        if blank(body.get(name)):
            raise missing(name, MISSING)
    for name in FIELDS:
        if not absent(body, name) and not isinstance(body[name], str):
            raise invalid(name, STRING, code=INVALID)
    for name in FIELDS:
        if absent(body, name):
            continue
        if name in REQUIRED and not UNSAFE_CHARACTERS.isdisjoint(body[name]):
            raise invalid(name, STRING, code=INVALID)
    for name in FIELDS:
        if not absent(body, name) and too_long(body[name], LIMIT):
            raise max_length(name, LIMIT, code=INVALID)
    if not account.recurring_enabled:
        raise recurring_disabled()
    return AgreementRequest(body["reference"], body["description"], body.get("user_identifier") or None)


def recurring_disabled() -> PayError:
    return pay_error(422, "P0942", P0942)


@dataclass(frozen=True)
class AgreementFilters:
    reference: str | None
    status: str | None


def search_filters(query: Query) -> tuple[AgreementFilters, Paging]:
    """Every parameter is read, so a 422 P2401 names each bad one."""
    filters = AgreementFilters(query.get("reference", text(LIMIT)), query.get("status", one_of(STATUSES)))
    return filters, Paging.read(query)


#: The request body in the OpenAPI document, from the same limits as the checks above.
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(REQUIRED),
    "properties": {name: {"type": "string", "minLength": 1, "maxLength": LIMIT} for name in FIELDS},
}
