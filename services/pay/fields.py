"""Field rules shared by the request bodies (pay spec §4.2): what counts as absent or blank, what is an integer,
and the exact §4.2 reasons, so each rule and each text exists once."""

from __future__ import annotations

from typing import Any

from services.pay.errors import PayError, invalid

MAX_AMOUNT = 10_000_000

NUMERIC = "Must be a valid numeric format"
STRING = "Must be a valid string format"
FIELD_STRING = "Field must be a string"
BOOLEAN = "Must be true or false"


def absent(body: dict[str, Any], name: str) -> bool:
    """Not sent, or sent as JSON null (an optional field's null counts as absent)."""
    return body.get(name) is None


def blank(value: Any) -> bool:
    """Absent, null, or a string that is empty or only whitespace: a required field's "missing" (step 2)."""
    return value is None or (isinstance(value, str) and not value.strip())


def is_integer(value: Any) -> bool:
    """A JSON integer (`true` is not one, and neither is `1.0`)."""
    return isinstance(value, int) and not isinstance(value, bool)


def too_long(value: str, limit: int) -> bool:
    return len(value) > limit


def max_length(field: str, limit: int, *, code: str = "P0102") -> PayError:
    return invalid(field, f"Must be less than or equal to {limit} characters length", status=422, code=code)


def amount_range(field: str, value: int, minimum: int, *, code: str = "P0102") -> PayError | None:
    """422 when an integer amount is outside `minimum`..10000000 (§5.1, §6)."""
    if value < minimum:
        return invalid(field, f"Must be greater than or equal to {minimum}", status=422, code=code)
    if value > MAX_AMOUNT:
        return invalid(field, f"Must be less than or equal to {MAX_AMOUNT}", status=422, code=code)
    return None
