"""Texts the console chooses in Python (role and key names, form errors). They are message ids, translated when
the page renders (`translate()`), so each is listed in the Welsh catalogue by hand: the extractor only sees the
templates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gateway.tenants.models import ROLES

ROLE_NAMES = {
    "admin": "Admin",
    "manage_templates": "Manage templates",
    "send_messages": "Send messages",
    "view_payments": "View payments",
    "refund_payments": "Refund payments",
    "manage_api_keys": "Manage API keys",
}

#: The kinds of key the console offers, as (api, key_type) → name; the value posted is "api:key_type".
KEY_KINDS = {
    ("notify", "normal"): "Notify live key",
    ("notify", "team"): "Notify team and guest list key",
    ("notify", "test"): "Notify test key",
    ("pay", "live"): "Pay live key",
    ("pay", "test"): "Pay test key",
}

#: `keys.service` errors the create form shows beside the name or the kind, by error code.
KEY_FORM_ERRORS = {
    "InvalidName": ("name", "Enter a name for the key, in 255 characters or fewer"),
    "KeyNameTaken": ("name", "The service already has a key with this name: choose another"),
    "TrialMode": ("kind", "A service in trial mode cannot have a Notify live key"),
    "InvalidKeyType": ("kind", "Select the kind of key"),
    "InvalidApi": ("kind", "Select the kind of key"),
}

#: The kinds of Notify template the console manages, as type → name.
TEMPLATE_TYPES = {"email": "Email", "sms": "Text message"}

#: What the template form shows beside a field it cannot send to notify as it is.
TEMPLATE_FORM_ERRORS = {
    "type": "Select the kind of template",
    "name": "Enter a name for the template, in 255 characters or fewer",
    "subject": "Enter the email’s subject",
    "body": "Enter the message",
}

#: The notifications log's filters: statuses (Notify's own, `failed` covering every failure) and key types.
NOTIFICATION_STATUSES = {
    "created": "Created",
    "sending": "Sending",
    "sent": "Sent",
    "delivered": "Delivered",
    "failed": "Failed",
}
NOTIFY_KEY_TYPES = {"normal": "Live", "team": "Team and guest list", "test": "Test"}

#: What the send form shows beside the recipient when it is missing.
RECIPIENT_MISSING = {"email": "Enter an email address", "sms": "Enter a phone number"}

#: Pay's accounts (a service has a live one and a test one) and its payments' public states.
PAY_MODES = {"live": "Live", "test": "Test"}
PAYMENT_STATES = {
    "created": "Created",
    "started": "Started",
    "submitted": "Submitted",
    "capturable": "Capturable",
    "success": "Success",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "error": "Error",
}
REFUND_AMOUNT_ERROR = "Enter an amount in pounds, no more than is left to refund"


def role_names(roles: Iterable[str]) -> list[str]:
    """The roles in the platform's order, as message ids."""
    held = set(roles)
    return [ROLE_NAMES[role] for role in ROLES if role in held]


def when(moment: datetime | None) -> str:
    """A time as the console shows it: the same in English and Welsh, and unambiguous."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def when_iso(value: object) -> str:
    """A UTC time from notify's or pay's JSON ("2026-11-21T12:00:00.000Z") as `when` shows it."""
    return str(value)[:16].replace("T", " ") + " UTC" if value else ""
