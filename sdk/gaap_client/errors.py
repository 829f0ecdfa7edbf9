"""What a call can raise. Every error says whether trying the same call again is safe (`retry_safe`): the client has
already retried what it could, so this is for the caller's own, later retry (a queue, a scheduled job)."""

from __future__ import annotations

from typing import Any

import httpx


class GaapError(Exception):
    """Anything a client call raises."""

    #: Whether repeating the call cannot do twice what it was asked to do once.
    retry_safe: bool = False


class TransportError(GaapError):
    """No answer: the connection failed or timed out. Whether the platform acted is unknown, so a retry is safe only
    for a call that is idempotent (a read, or a POST carrying its Idempotency-Key)."""

    def __init__(self, message: str, *, retry_safe: bool) -> None:
        super().__init__(message)
        self.retry_safe = retry_safe


class APIError(GaapError):
    """The platform answered with an error.

    `code` is the API's own (`BadRequestError`, `P0102`, `IdempotencyConflict`); `message` its text (Notify lists
    several messages in `messages`); `field` or `header` name what Pay found wrong.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        body: Any = None,
        messages: list[str] | None = None,
        field: str | None = None,
        header: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retry_safe: bool = False,
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.body = body
        self.messages = messages if messages is not None else ([message] if message else [])
        self.field = field
        self.header = header
        self.request_id = request_id
        self.retry_after = retry_after
        self.retry_safe = retry_safe


class RateLimitedError(APIError):
    """429: refused before anything was done, so always safe to retry, after `retry_after` seconds if known."""


class InvalidSignature(GaapError):
    """A webhook or callback whose signature is missing, malformed, stale or wrong: do not act on it."""


def error_from_response(response: httpx.Response, *, idempotent: bool) -> APIError:
    """The error an answer of any API family (Notify's envelope, Pay's, the platform's, or no body) stands for."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    code, message = f"HTTP{status}", response.reason_phrase
    messages: list[str] | None = None
    field = header = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):  # Notify's v2 envelope
            code = str(errors[0].get("error", code))
            messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
            message = "; ".join(messages)
        elif "description" in body:  # Pay's
            code, message = str(body.get("code", code)), str(body["description"])
            field = body.get("field")
            header = body.get("header")
        elif "error" in body:  # the platform's (and OAuth's)
            code = str(body["error"])
            message = str(body.get("message") or body.get("error_description") or "")
    retry_after = _retry_after(response)
    kind = RateLimitedError if status == 429 else APIError
    return kind(
        status,
        code,
        message,
        body=body,
        messages=messages,
        field=field,
        header=header,
        request_id=response.headers.get("x-request-id"),
        retry_after=retry_after,
        retry_safe=status == 429 or (status >= 500 and idempotent),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare here, and the client's own backoff applies instead
