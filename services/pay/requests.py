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
    return value


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
