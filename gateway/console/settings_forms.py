"""The service settings forms: what each shows, and how its answers become the settings the components are sent.

A form only turns text into the document's types (a whole number, a list of addresses) and says so when it cannot.
Whether a value is acceptable (a limit's range, a sender name's characters, a callback URL's scheme, a retention
period) is the component's rule, applied when the gateway pushes the settings: the refusal comes back on the form
(`settings_push`), so no rule lives in two places. Texts are message ids, translated when the page renders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.tenants.models import Service

CHANNELS = ("email", "sms", "letter")
CALLBACKS = {
    "delivery_status_callback": "Delivery status callback",
    "inbound_sms_callback": "Received text callback",
    "returned_letter_callback": "Returned letter callback",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WHOLE = re.compile(r"^-?\d+$")
#: Pay names a webhook's fields `test.webhooks.0.callback_url`: the form has one webhook, whatever its place.
#: Fields whose value a refusal may quote (a choice's value is a word that may appear in any message).
QUOTABLE = ("text", "url", "number", "lines")
WEBHOOK_ITEM = re.compile(r"^(?:test|live)\.webhooks\.\d+\.?")

ENTER_WHOLE_NUMBER = "Enter a whole number, like 1000"
ENTER_RATE_LIMIT = "Enter how many messages a minute"
CHOOSE_MODE = "Select trial mode or live"
REPLY_TO_FORMAT = "Enter each reply-to address in the correct format, like name@example.gov.uk"
ENTER_TOKEN = "Enter a bearer token for this callback"
ENTER_URL = "Enter the callback URL, or clear the bearer token"
NOTIFY_DEFAULT = "Notify’s default"
NOT_SET = "Not set"
TOKEN_SET = "A bearer token is set: it is never shown"
TOKEN_HINT = "Leave blank to keep the current token."
BLANK_FOR_DEFAULT = "Leave blank for Notify’s default for trial or live services."
RETENTION_HINT = "From 3 to 90 days. Leave blank for 7 days."
RETENTION_LABELS = {
    "email": "Days to keep emails",
    "sms": "Days to keep text messages",
    "letter": "Days to keep letters",
}


class FormErrors(Exception):
    """Answers a form cannot turn into settings: message ids by field name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    #: "number", "text", "url", "token", "lines" (one value a line) or "radios".
    kind: str = "text"
    hint: str = ""
    #: Where the field's value lives in the component's document (dotted, as the component names it in a
    #: refusal), so a refusal is shown beside the field.
    path: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass
class Change:
    """What a form asks for: the component's whole new settings, and the service's own columns."""

    component_settings: dict[str, Any] | None = None
    restricted: bool | None = None
    rate_limit: int | None = None


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    component: str
    fields: tuple[Field, ...]
    read: Callable[[Service], dict[str, Any]]
    build: Callable[[Service, Mapping[str, Any]], Change]
    hint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def notify_settings(service: Service) -> dict[str, Any]:
    return dict((service.settings or {}).get("notify", {}))


def _whole(value: str, name: str, errors: dict[str, str], *, required: str | None = None) -> int | None:
    text = value.strip().replace(",", "")
    if not text:
        if required:
            errors[name] = required
        return None
    if not WHOLE.match(text):
        errors[name] = ENTER_WHOLE_NUMBER
        return None
    return int(text)


def _done(errors: dict[str, str], change: Change) -> Change:
    if errors:
        raise FormErrors(errors)
    return change


# Trial or live ----------------------------------------------------------------------------------------------------


def _read_mode(service: Service) -> dict[str, Any]:
    return {"mode": "trial" if service.restricted else "live"}


def _build_mode(service: Service, form: Mapping[str, Any]) -> Change:
    mode = form.get("mode", "")
    if mode not in ("trial", "live"):
        raise FormErrors({"mode": CHOOSE_MODE})
    return Change(restricted=mode == "trial")


# Limits -----------------------------------------------------------------------------------------------------------


def _read_limits(service: Service) -> dict[str, Any]:
    settings = notify_settings(service)
    values = {f"{c}_limit": str(settings.get(f"{c}_message_limit", "")) for c in CHANNELS}
    return {**values, "rate_limit": str(service.rate_limit)}


def _build_limits(service: Service, form: Mapping[str, Any]) -> Change:
    errors: dict[str, str] = {}
    settings = notify_settings(service)
    for channel in CHANNELS:
        limit = _whole(form.get(f"{channel}_limit", ""), f"{channel}_limit", errors)
        if limit is None:
            settings.pop(f"{channel}_message_limit", None)
        else:
            settings[f"{channel}_message_limit"] = limit
    rate = _whole(form.get("rate_limit", ""), "rate_limit", errors, required=ENTER_RATE_LIMIT)
    return _done(errors, Change(component_settings=settings, rate_limit=rate))


# Reply-to addresses and text sender -------------------------------------------------------------------------------


def _read_senders(service: Service) -> dict[str, Any]:
    settings = notify_settings(service)
    return {"reply_to": "\n".join(settings.get("email_reply_to", [])), "sms_sender": settings.get("sms_sender") or ""}


def _build_senders(service: Service, form: Mapping[str, Any]) -> Change:
    errors: dict[str, str] = {}
    settings = notify_settings(service)
    addresses = [line.strip() for line in form.get("reply_to", "").splitlines() if line.strip()]
    if any(not EMAIL.match(address) for address in addresses):
        errors["reply_to"] = REPLY_TO_FORMAT
    settings["email_reply_to"] = addresses
    sender = form.get("sms_sender", "").strip()
    if sender:
        settings["sms_sender"] = sender
    else:
        settings.pop("sms_sender", None)
    return _done(errors, Change(component_settings=settings))


# Data retention ---------------------------------------------------------------------------------------------------


def _read_retention(service: Service) -> dict[str, Any]:
    retention = notify_settings(service).get("data_retention", {})
    return {f"retention_{c}": str(retention.get(c, "")) for c in CHANNELS}


def _build_retention(service: Service, form: Mapping[str, Any]) -> Change:
    errors: dict[str, str] = {}
    settings = notify_settings(service)
    retention = {}
    for channel in CHANNELS:
        days = _whole(form.get(f"retention_{channel}", ""), f"retention_{channel}", errors)
        if days is not None:
            retention[channel] = days
    settings["data_retention"] = retention
    return _done(errors, Change(component_settings=settings))


# Callbacks --------------------------------------------------------------------------------------------------------


def _read_callbacks(service: Service) -> dict[str, Any]:
    settings = notify_settings(service)
    values: dict[str, Any] = {}
    for key in CALLBACKS:
        held = settings.get(key) or {}
        values[f"{key}_url"] = held.get("url", "")
        values[f"{key}_token"] = ""  # a secret is never put back in a form
        values[f"{key}_token_set"] = bool(held.get("bearer_token"))
    return values


def _build_callbacks(service: Service, form: Mapping[str, Any]) -> Change:
    errors: dict[str, str] = {}
    settings = notify_settings(service)
    for key in CALLBACKS:
        url = form.get(f"{key}_url", "").strip()
        token = form.get(f"{key}_token", "").strip()
        held = settings.get(key) or {}
        if not url:
            if token:
                errors[f"{key}_url"] = ENTER_URL
            settings.pop(key, None)
            continue
        token = token or held.get("bearer_token", "")
        if not token:
            errors[f"{key}_token"] = ENTER_TOKEN
        settings[key] = {"url": url, "bearer_token": token}
    return _done(errors, Change(component_settings=settings))


SECTIONS = {
    section.slug: section
    for section in (
        Section(
            "mode",
            "Trial mode or live",
            "notify",
            (
                Field(
                    "mode",
                    "Is this service in trial mode or live?",
                    "radios",
                    options=(
                        ("trial", "Trial mode: messages only to the team and guest list, with low daily limits"),
                        ("live", "Live: messages to anyone, with the live daily limits"),
                    ),
                    path="restricted",
                ),
            ),
            _read_mode,
            _build_mode,
        ),
        Section(
            "limits",
            "Daily limits and rate limit",
            "notify",
            (
                *(
                    Field(f"{c}_limit", f"{name} a day", "number", BLANK_FOR_DEFAULT, f"{c}_message_limit")
                    for c, name in (("email", "Emails"), ("sms", "Text messages"), ("letter", "Letters"))
                ),
                Field("rate_limit", "Messages a minute, for each kind of API key", "number", path="rate_limit"),
            ),
            _read_limits,
            _build_limits,
        ),
        Section(
            "senders",
            "Reply-to addresses and text sender",
            "notify",
            (
                Field(
                    "reply_to",
                    "Email reply-to addresses",
                    "lines",
                    "One address a line. The first is the default.",
                    "email_reply_to",
                ),
                Field(
                    "sms_sender",
                    "Text message sender name",
                    "text",
                    "Between 3 and 11 letters, numbers or spaces. Leave blank for GOVUK.",
                    "sms_sender",
                ),
            ),
            _read_senders,
            _build_senders,
        ),
        Section(
            "retention",
            "Data retention",
            "notify",
            tuple(
                Field(f"retention_{c}", label, "number", RETENTION_HINT, f"data_retention.{c}")
                for c, label in RETENTION_LABELS.items()
            ),
            _read_retention,
            _build_retention,
        ),
        Section(
            "callbacks",
            "Callbacks",
            "notify",
            tuple(
                f
                for key in CALLBACKS
                for f in (
                    Field(f"{key}_url", f"{CALLBACKS[key]} URL", "url", "Must start with https://", f"{key}.url"),
                    Field(f"{key}_token", f"{CALLBACKS[key]} bearer token", "token", "", f"{key}.bearer_token"),
                )
            ),
            _read_callbacks,
            _build_callbacks,
            hint="Notify calls these URLs with a bearer token when a message’s status changes and when the "
            "service receives a text. Clear a URL to stop its callbacks.",
        ),
    )
}

#: Every text above that a page shows, for the Welsh catalogue's test.
TEXTS = [
    *CALLBACKS.values(),
    ENTER_WHOLE_NUMBER,
    ENTER_RATE_LIMIT,
    CHOOSE_MODE,
    REPLY_TO_FORMAT,
    ENTER_TOKEN,
    ENTER_URL,
    NOTIFY_DEFAULT,
    NOT_SET,
    TOKEN_SET,
    TOKEN_HINT,
    BLANK_FOR_DEFAULT,
    *(s.title for s in SECTIONS.values()),
    *(s.hint for s in SECTIONS.values() if s.hint),
    *(f.label for s in SECTIONS.values() for f in s.fields),
    *(f.hint for s in SECTIONS.values() for f in s.fields if f.hint),
    *(text for s in SECTIONS.values() for f in s.fields for _value, text in f.options),
]


def field_for(
    section: Section, location: str, message: str, values: Mapping[str, Any], before: Mapping[str, Any]
) -> str:
    """The form field a component's refusal is about: the one whose document path best matches the refusal's
    location (`settings.sms_sender`, `settings.data_retention.email`), else the one whose value the message quotes,
    else the first one the admin changed (`before` holds the form as it was), else the form's first field."""
    where = WEBHOOK_ITEM.sub("webhook.", location.removeprefix("settings."))
    best, chosen = "", ""
    for f in section.fields:
        if f.path and (where == f.path or where.startswith(f.path + ".")) and len(f.path) > len(best):
            best, chosen = f.path, f.name
    if chosen:
        return chosen
    for f in section.fields:
        value = str(values.get(f.name, "")).strip()
        if value and f.kind in QUOTABLE and value in message:
            return f.name
    changed = [f.name for f in section.fields if values.get(f.name) != before.get(f.name)]
    return changed[0] if changed else section.fields[0].name
