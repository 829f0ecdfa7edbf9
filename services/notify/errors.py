"""Notify's errors: the `error` names and statuses of GOV.UK Notify's v2 envelope (spec §4.1).

Each class is one row of the §4.1 table. The `code` is the envelope's `error` value and part of the contract (clients
branch on it), so it is spelled exactly as GOV.UK spells it. Code raises these and never builds a body itself; the
kernel's `NotifyFamily` renders them as `{"status_code": N, "errors": [{"error": code, "message": ...}]}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gaap.errors import ApiError


class ValidationError(ApiError):
    """A request that breaks a schema or an address rule: 400, with one item per distinct message.

    Schema validation reports every problem at once, so this error carries `items`, the envelope's `errors` list,
    de-duplicated in first-seen order (GOV.UK removes duplicates the same way). `message` is the first of them, which
    is what a renderer that knows only single-item errors shows. Keyword arguments other than those of `ApiError`
    (e.g. the QR-code error's `data`, `num_bytes`, `max_bytes`) are added to every item, as GOV.UK adds them.
    """

    status_code = 400
    code = "ValidationError"
    message = "The request was not valid"

    def __init__(self, messages: str | Iterable[str] | None = None, **kwargs: Any) -> None:
        if messages is None:
            texts = [type(self).message]
        elif isinstance(messages, str):
            texts = [messages]
        else:
            texts = list(dict.fromkeys(messages)) or [type(self).message]
        super().__init__(texts[0], **kwargs)
        self.messages = texts
        self.items: list[dict[str, Any]] = [{"error": self.code, "message": text, **self.extra} for text in texts]


class BadRequestError(ApiError):
    """A business rule refused the request (spec §4.3). 400, or 403 for the two letter-key rules."""

    status_code = 400
    code = "BadRequestError"
    message = "Bad request"


class AuthError(ApiError):
    """An authentication failure (spec §3.2): 401 for a missing or non-Bearer header, 403 for everything else."""

    status_code = 401
    code = "AuthError"
    message = "Unauthorized: authentication token must be provided"


class RateLimitError(ApiError):
    """The per-minute bucket is empty (spec §11.1). The gateway normally answers this; notify uses it in tests."""

    status_code = 429
    code = "RateLimitError"
    message = "Exceeded rate limit"

    @classmethod
    def per_minute(cls, key_type: str, limit: int, interval_seconds: int = 60) -> RateLimitError:
        """The exact §4.3 text. `normal` keys are shown as `LIVE`, as GOV.UK does."""
        shown = "LIVE" if key_type == "normal" else key_type.upper()
        return cls(f"Exceeded rate limit for key type {shown} of {limit} requests per {interval_seconds} seconds")


class TooManyRequestsError(ApiError):
    """A daily per-channel limit is used up (spec §11.2)."""

    status_code = 429
    code = "TooManyRequestsError"
    message = "Exceeded send limits for today"

    @classmethod
    def daily(cls, limit_name: str, limit: int) -> TooManyRequestsError:
        """The exact §4.3 text; `limit_name` is `sms`, `email`, `letter` or `international_sms`."""
        return cls(f"Exceeded send limits ({limit_name}: {limit}) for today")


class PDFNotReadyError(ApiError):
    """The letter's PDF is still being scanned or stored (spec §6.3)."""

    status_code = 400
    code = "PDFNotReadyError"
    message = "PDF not available yet, try again later"


class InvalidPhoneError(ApiError):
    """A phone number refused after the schema stage, e.g. `Not a UK mobile number` (spec §4.3)."""

    status_code = 400
    code = "InvalidPhoneError"
    message = "Not a valid phone number"


class InvalidEmailError(ApiError):
    """An email address refused after the schema stage."""

    status_code = 400
    code = "InvalidEmailError"
    message = "Not a valid email address"


class InvalidRecipientError(ApiError):
    """A recipient refused after the schema stage for a reason that is neither phone- nor email-specific."""

    status_code = 400
    code = "InvalidRecipientError"
    message = "Not a valid recipient"


class NoResultFound(ApiError):
    """A lookup that missed: unknown, another service's, or past retention (spec §4.1, §6.1)."""

    status_code = 404
    code = "NoResultFound"
    message = "No result found"
