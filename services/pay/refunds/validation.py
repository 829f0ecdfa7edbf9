"""The create-refund body (pay spec §6) in the §4.2 order, with the refund codes (P0601, P0602)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.pay.errors import invalid, missing
from services.pay.fields import MAX_AMOUNT, NUMERIC, absent, amount_range, blank, is_integer

FIELDS = ("amount", "refund_amount_available")


@dataclass(frozen=True)
class RefundRequest:
    amount: int
    #: The caller's last-seen `refund_summary.amount_available`, if it sent one (412 P0604 when it differs).
    expected_available: int | None


def validate_refund(body: dict[str, Any]) -> RefundRequest:
    if blank(body.get("amount")):
        raise missing("amount", code="P0601")
    for name in FIELDS:
        if not absent(body, name) and not is_integer(body[name]):
            raise invalid(name, NUMERIC, code="P0602")
    for name in FIELDS:
        if not absent(body, name):
            error = amount_range(name, body[name], 1, code="P0602")
            if error is not None:
                raise error
    return RefundRequest(body["amount"], body.get("refund_amount_available"))


REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["amount"],
    "properties": {name: {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT} for name in FIELDS},
}
