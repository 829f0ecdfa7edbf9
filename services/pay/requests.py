"""Reading a POST (pay spec §4.2 step 1, §4.3, §4.5): the content-type rule, the JSON object, the
`Idempotency-Key` header. Every body is read here, so no FastAPI body parsing (and no automatic 422) is involved.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from services.pay.errors import Endpoint, PayError, blocked, pay_error

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[a-zA-Z0-9-]+")
IDEMPOTENCY_KEY_MAX = 255


def _is_json(content_type: str | None) -> bool:
    """`application/json`, parameters such as `charset` allowed, any letter case."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def json_object(request: Request, endpoint: Endpoint) -> dict[str, Any]:
    """The body as a JSON object, or the endpoint's 400: P0920 for a body that is not declared JSON, then its
    parse code (`Unable to parse JSON`) for an absent body, bad JSON, or JSON that is not an object."""
    raw = await request.body()
    if raw and not _is_json(request.headers.get("content-type")):
        raise blocked("the request body must be sent with Content-Type: application/json")
    if not raw.strip():
        raise endpoint.unparsable()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise endpoint.unparsable() from None
    if not isinstance(value, dict):
        raise endpoint.unparsable()
    if b"\\u0000" in raw:  # JSON can carry a NUL only as this escape: look for a real one
        for field, item in value.items():
            if _holds_nul(field) or _holds_nul(item):
                raise blocked(f"{field} contains a NUL character", field=field)
    return value


def _holds_nul(value: Any) -> bool:
    """Whether a NUL character is in `value`'s strings or keys, at any depth. No field may hold one: PostgreSQL's
    text cannot store it, and no reference, description, name or address needs it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header: empty counts as absent; anything not 1–255 of `[a-zA-Z0-9-]` is 422 P0102."""
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if not value:
        return None
    if len(value) > IDEMPOTENCY_KEY_MAX:
        raise _bad_key("Must be less than or equal to 255 characters length")
    if _IDEMPOTENCY_KEY.fullmatch(value) is None:
        raise _bad_key("Must contain only letters, digits and hyphens")
    return value


def _bad_key(reason: str) -> PayError:
    return pay_error(
        422, "P0102", f"Invalid attribute value: {IDEMPOTENCY_HEADER}. {reason}", header=IDEMPOTENCY_HEADER
    )
