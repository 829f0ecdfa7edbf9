"""Per-request context: the request id, carried in a contextvar so logs and outbound calls can see it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """Keep a caller's request id when it is well formed, else make a new one."""
    if value and _VALID.match(value):
        return value
    return new_request_id()


def current_request_id() -> str:
    return request_id_var.get()
