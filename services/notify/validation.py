"""JSON Schema (draft 7) validation with GOV.UK Notify's error messages (spec §4.2).

Notify's compatible endpoints do not use FastAPI/pydantic validation: clients match GOV.UK's exact messages, and the
draft-7 schemas in `schemas.py` are the single definition of each body. Messages are built as GOV.UK's
`app/schema_validation` builds them:

- the failing sub-schema has `validationMessage`: `<first path element> <validationMessage>`;
- otherwise `<first path element> <format checker's exception text, else jsonschema's message>`, with every single
  quote deleted (so `'foo' is a required property` becomes `foo is a required property`, and Python reprs such as
  `None`, `True`, `[1, 2]`, `{a: 1}` show through, exactly as GOV.UK shows them);
- duplicates removed, first-seen order kept.

The phone and email format checks call `services.notify.recipients`, which owns those rules and their messages. They
are injected through `Formats` (tests pass stand-ins), and the default is imported on first use, so this module does
not depend on that package at import time. The clock and the scheduling horizon are per call for the same reason:
tests freeze time, and services with the `schedule_notifications` permission get a horizon of N days (spec §18.2).

Most bodies are valid, and jsonschema walks a schema generically on every call (measured: 7% of a send's CPU).
So each schema is also compiled to Python by fastjsonschema, which answers "valid" several times faster; only a
body it refuses goes through jsonschema, whose errors make the messages. The compiled check is used only to say
"valid": a body it accepts is one jsonschema accepts too (its checks are the same draft-7 rules and our format
functions; a test holds the two to agreement), and anything it refuses is judged by jsonschema alone.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import fastjsonschema
import jsonschema
import orjson
from jsonschema import Draft7Validator, FormatChecker

from services.notify.errors import BadRequestError, ValidationError

Schema = Mapping[str, Any]

INVALID_JSON = "Invalid JSON supplied in POST data"
ISO8601_HELP = "It must be a valid ISO8601 date time format, https://en.wikipedia.org/wiki/ISO_8601"

#: Deeper documents are refused at parse time: Python's `repr` and `str` (used for messages and personalisation)
#: recurse, and a 1,000-level list would make them fail with RecursionError, a 500. Real bodies nest 3 or 4 deep.
MAX_JSON_DEPTH = 64


class FormatRejected(Exception):
    """Raised by a format check; its text follows the field name in the message (`phone_number Not enough digits`)."""


@dataclass(frozen=True)
class RecipientCheck:
    """A recipient validator and the exception types by which it says "invalid" (their text is the message).

    Only those types are turned into 400s: any other exception is a bug and must stay a 500 (STYLE: no catch-all
    error mapping).
    """

    validate: Callable[[str], object]
    rejects: tuple[type[Exception], ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Formats:
    """What the format checks need from outside this module. Hashable, so validators can be cached per `Formats`.

    A recipient check left as None means the real one from `services.notify.recipients`, resolved on first use.
    """

    phone_number: RecipientCheck | None = None
    email_address: RecipientCheck | None = None
    now: Callable[[], datetime] = field(default=_utc_now)


DEFAULT_FORMATS = Formats()


@functools.cache
def recipient_checks() -> dict[str, RecipientCheck]:
    """The real validators by format name, imported late so that importing this module never needs `recipients`.

    The schema stage checks format only: international numbers and landlines pass here, and the service's
    permissions are checked later (spec §5.1 step 6), as GOV.UK calls `validate_phone_number(international=True)`.
    """
    from services.notify.recipients.email import InvalidEmailError, validate_email_address
    from services.notify.recipients.phone import InvalidPhoneError, validate_phone_number

    return {
        "phone_number": RecipientCheck(validate_phone_number, (InvalidPhoneError,)),
        "email_address": RecipientCheck(validate_email_address, (InvalidEmailError,)),
    }


# --- values shared with the endpoints (one copy of each rule) ---------------------------------------------------


def parse_uuid(value: str, field_name: str) -> uuid.UUID:
    """Parse an id from a path: any form `uuid.UUID()` accepts (spec §2), else `<field> is not a valid UUID`."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError(f"{field_name} is not a valid UUID") from None


def parse_iso8601(value: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; naive means UTC (spec §18.2).

    Raises ValueError for text that is not ISO 8601, OverflowError for an offset that leaves years 1–9999.

    GOV.UK drops the offset without converting (`2024-05-17T12:00+05:00` is read as 12:00 UTC); we convert, which is
    what ISO 8601 means and what the §18.2 scheduler needs.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9-]{1,255}")


def idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header (spec §18.9, as pay §4.5): absent or empty means none; else 1–255 of [A-Za-z0-9-].

    The error renders in the platform envelope on these paths (spec §1); its code is `ValidationError`.
    """
    if not value:
        return None
    if _IDEMPOTENCY_KEY.fullmatch(value) is None:
        raise ValidationError("Idempotency-Key must be 1 to 255 characters of letters, digits and hyphens")
    return value


# --- format checks ----------------------------------------------------------------------------------------------
# Each returns True for non-strings (the `type` keyword reports those) and raises FormatRejected for a bad string.


def _check_uuid(instance: object) -> bool:
    if isinstance(instance, str):
        try:
            uuid.UUID(instance)
        except ValueError:
            raise FormatRejected("is not a valid UUID") from None
    return True


def _check_https_url(instance: object) -> bool:
    """An absolute https URL with a host and no whitespace or control characters (it goes into an email header)."""
    if isinstance(instance, str):
        try:
            parts = urlsplit(instance)
        except ValueError:
            raise FormatRejected("is not a valid https url") from None
        if (
            parts.scheme != "https"
            or not instance.startswith("https://")
            or not parts.hostname
            or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in instance)
        ):
            raise FormatRejected("is not a valid https url")
    return True


def _check_recipient(check: RecipientCheck | None, format_name: str, instance: object) -> bool:
    if isinstance(instance, str):
        check = check or recipient_checks()[format_name]
        try:
            check.validate(instance)
        except check.rejects as error:
            raise FormatRejected(str(error)) from error
    return True


def _check_scheduled_for(now: Callable[[], datetime], days: int | None, instance: object) -> bool:
    """GOV.UK's `datetime_within_next_day`: not in the past and at most 24 hours ahead, or N days with §18.2."""
    if isinstance(instance, str):
        try:
            when = parse_iso8601(instance)
        except (ValueError, OverflowError):
            raise FormatRejected(f"datetime format is invalid. {ISO8601_HELP}") from None
        current = now()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        if when < current:
            raise FormatRejected("datetime can not be in the past")
        if days is None and when > current + timedelta(hours=24):
            raise FormatRejected("datetime can only be 24 hours in the future")
        if days is not None and when > current + timedelta(days=days):
            raise FormatRejected(f"datetime can only be {days} days in the future")
    return True


@functools.lru_cache(maxsize=64)
def _format_checker(formats: Formats, schedule_days: int | None) -> FormatChecker:
    """Only our formats: draft 7's own (`uri`, `email`, ...) would reject things GOV.UK accepts."""
    checker = FormatChecker(formats=())
    checks: dict[str, Callable[[object], bool]] = {
        "uuid": _check_uuid,
        "https_url": _check_https_url,
        "phone_number": functools.partial(_check_recipient, formats.phone_number, "phone_number"),
        "email_address": functools.partial(_check_recipient, formats.email_address, "email_address"),
        "datetime_within_next_day": functools.partial(_check_scheduled_for, formats.now, schedule_days),
    }
    from services.notify.documents.options import FORMATS as FILE_OPTION_FORMATS  # the rules' owner (§12)

    checks |= FILE_OPTION_FORMATS
    for name, check in checks.items():
        checker.checks(name, raises=FormatRejected)(check)
    return checker


def _as_predicate(check: Callable[[object], bool]) -> Callable[[object], bool]:
    """A format check for fastjsonschema, which wants True/False: a rejection is False, any other error a bug."""

    def predicate(instance: object) -> bool:
        try:
            return check(instance)
        except FormatRejected:
            return False

    return predicate


# --- validation -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Validators:
    schema: Schema
    #: Says exactly what is wrong.
    full: Draft7Validator
    #: Says quickly that nothing is; raises `fastjsonschema.JsonSchemaValueException` otherwise.
    fast: Callable[[Any], Any]


_validators: dict[tuple[int, Formats, int | None], _Validators] = {}


def _validators_for(schema: Schema, formats: Formats, schedule_days: int | None) -> _Validators:
    """Built once per (schema, formats, horizon), not per request. The entry keeps the schema alive, so its id is
    never reused by another object while cached."""
    key = (id(schema), formats, schedule_days)
    cached = _validators.get(key)
    if cached is None or cached.schema is not schema:
        Draft7Validator.check_schema(schema)
        if len(_validators) >= 256:
            _validators.clear()
        checker = _format_checker(formats, schedule_days)
        predicates = {name: _as_predicate(checker.checkers[name][0]) for name in checker.checkers}
        fast = fastjsonschema.compile(dict(schema), formats=predicates, use_default=False)
        cached = _validators[key] = _Validators(schema, Draft7Validator(schema, format_checker=checker), fast)
    return cached


def _message(error: jsonschema.ValidationError) -> str:
    """One GOV.UK message. The quirks (a falsy first path element is dropped only without `validationMessage`;
    quotes are deleted only without it) follow `app/schema_validation/__init__.py:build_error_message`."""
    sub_schema = error.schema
    if isinstance(sub_schema, Mapping) and "validationMessage" in sub_schema:
        first = error.path[0] if error.path else ""
        return f"{first} {sub_schema['validationMessage']}".strip()
    text = str(error.cause) if error.cause is not None else error.message
    text = text.replace("'", "")
    first = error.path[0] if error.path else None
    return f"{first} {text}" if first else text


def error_messages(
    schema: Schema, instance: Any, *, formats: Formats | None = None, schedule_days: int | None = None
) -> list[str]:
    """Every message for `instance`, de-duplicated in first-seen order; empty when it is valid."""
    if schedule_days is not None and schedule_days < 1:
        raise ValueError("schedule_days must be a positive number of days")
    validators = _validators_for(schema, formats or DEFAULT_FORMATS, schedule_days)
    try:
        validators.fast(instance)
    except fastjsonschema.JsonSchemaValueException:
        pass  # invalid: jsonschema says what is wrong, in GOV.UK's words
    except RecursionError:
        pass  # past what compiled code can recurse into: jsonschema's own answer follows
    else:
        return []
    try:
        errors = list(validators.full.iter_errors(instance))
    except RecursionError:
        # Only reachable by callers that skip `parse_json_body` (which refuses such depth): building a message
        # reprs the instance, and Python's repr gives up past ~1,000 levels.
        return [f"JSON is nested more than {MAX_JSON_DEPTH} levels deep"]
    return list(dict.fromkeys(_message(error) for error in errors))


def validate(
    schema: Schema, instance: Any, *, formats: Formats | None = None, schedule_days: int | None = None
) -> None:
    """Raise notify's `ValidationError` (400) carrying every message if `instance` breaks `schema`.

    `schedule_days`: the §18.2 horizon for services with `schedule_notifications`; None gives GOV.UK's 24-hour rule.
    """
    messages = error_messages(schema, instance, formats=formats, schedule_days=schedule_days)
    if messages:
        raise ValidationError(messages)


# --- request parsing --------------------------------------------------------------------------------------------


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Iterative, so the check itself cannot recurse too deeply."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_json_body(body: bytes) -> Any:
    """Parse a POST body as JSON whatever its Content-Type (spec §2); else 400 `Invalid JSON supplied in POST data`.

    Strict RFC 8259 via orjson: `NaN`, lone surrogates, invalid UTF-8 and a BOM are refused (GOV.UK's Flask takes the
    first two; refusing them keeps unencodable text out of storage). Integers beyond 64 bits become floats. A value
    that is valid JSON but not an object is returned as is: the schema reports it (`[1, 2] is not of type object`).
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequestError(INVALID_JSON) from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise BadRequestError(INVALID_JSON)
    return value


def parse_query(query: str | bytes, schema: Schema) -> dict[str, Any]:
    """A query string in the shape a query schema expects, as GOV.UK builds it from Flask's `request.args`.

    Keys whose schema property is an array (`status`, `template_type`) collect every value, so repeats are kept;
    every other key, known or not, takes its first value. Blank values are kept (`older_than=` is an invalid UUID,
    not an absent one). Bytes (an ASGI `scope["query_string"]`) are read as UTF-8, bad bytes replaced.
    """
    text = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
    properties = schema.get("properties", {})
    arrays = {name for name, sub in properties.items() if isinstance(sub, Mapping) and sub.get("type") == "array"}
    parsed: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in arrays:
            parsed.setdefault(key, []).append(value)
        else:
            parsed.setdefault(key, value)
    return parsed


def validated_body(
    body: bytes, schema: Schema, *, formats: Formats | None = None, schedule_days: int | None = None
) -> dict[str, Any]:
    """Parse and validate a POST body; the schemas' root type is object, so a valid result is a dict."""
    value = parse_json_body(body)
    validate(schema, value, formats=formats, schedule_days=schedule_days)
    if not isinstance(value, dict):
        raise TypeError("validated_body needs a schema whose root type is object")  # a bug in the caller: a 500
    return value


def validated_query(query: str | bytes, schema: Schema) -> dict[str, Any]:
    """Parse and validate a list endpoint's query string (spec §6.2, §6.4, §7)."""
    parsed = parse_query(query, schema)
    validate(schema, parsed)
    return parsed
