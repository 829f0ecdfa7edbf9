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


def role_names(roles: Iterable[str]) -> list[str]:
    """The roles in the platform's order, as message ids."""
    held = set(roles)
    return [ROLE_NAMES[role] for role in ROLES if role in held]


def when(moment: datetime | None) -> str:
    """A time as the console shows it: the same in English and Welsh, and unambiguous."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
