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


#: The levels a relying party may ask for, as the `vtr` value it sends → (its `ClientLoCs` entry, name). A level
#: with identity (P1, P2) also makes the client `IdentityVerificationSupported`, as identity requires.
CLIENT_LEVELS = {
    "Cl.Cm": ("P0", "Cl.Cm: sign-in with a password and a second factor"),
    "Cl.Cm.P1": ("P1", "Cl.Cm.P1: sign-in and a low confidence identity check"),
    "Cl.Cm.P2": ("P2", "Cl.Cm.P2: sign-in and a medium confidence identity check"),
}
#: How the relying party proves itself at `/token` (identity spec §6): its one `TokenAuthMethod`. A client secret is
#: never enough for the identity levels (P1, P2), which identity refuses.
CLIENT_AUTH_METHODS = {
    "private_key_jwt": "Private key JWT: it signs an assertion with its private key (needed for identity checks)",
    "client_secret_post": "Client secret, sent in the request body (client_secret_post)",
    "client_secret_basic": "Client secret, sent with HTTP Basic authentication (client_secret_basic)",
}
#: How identity signs the relying party's ID tokens (identity spec §6.1): its `IdTokenSigningAlgorithm`.
CLIENT_ID_TOKEN_ALGORITHMS = {
    "ES256": "ES256: elliptic curve P-256 (the default)",
    "RS256": "RS256: RSA, for software that can check only RSA signatures",
}
#: Where identity finds the public key of the relying party (needed for `private_key_jwt`, optional otherwise).
CLIENT_KEY_SOURCES = {"STATIC": "Its public key", "JWKS": "A JWKS URL where it publishes its public keys"}
#: Which identifier (`sub`) a relying party is given for a person.
CLIENT_SUBJECT_TYPES = {
    "pairwise": "Pairwise: an identifier (sub) for each person that only this service sees",
    "public": "Public: the same identifier (sub) for a person in every service",
}
#: The scopes a relying party may ask for besides `openid`, which it always has.
CLIENT_SCOPES = {"email": "Email address", "phone": "Phone number"}
#: What the client form shows beside a field it cannot send to identity as it is (identity checks the rest).
CLIENT_FORM_ERRORS = {
    "name": "Enter a name for the client, in 255 characters or fewer",
    "redirect_uris": "Enter at least one redirect URI",
    "levels": "Select at least one level",
    "token_auth_method": "Select how the client authenticates when it asks for tokens",
    "id_token_signing_algorithm": "Select how identity signs the client’s ID tokens",
    "key_source": "Select where identity finds the client’s public key",
    "public_key": "Paste the client’s public key",
    "jwks_url": "Enter the URL of the client’s JWKS",
    "subject_type": "Select which identifier the client is given",
}
#: The audit log search's date fields, when they are not dates.
AUDIT_DATE_ERRORS = {
    "since": "Enter the ‘from’ date as year-month-day, for example 2026-03-27",
    "until": "Enter the ‘to’ date as year-month-day, for example 2026-03-27",
}
#: The developer inbox's two channels.
INBOX_CHANNELS = {"email": "Emails", "sms": "Text messages"}
#: Why the audit chain does not verify, by `gateway.audit.service.verify`'s reason (an entry "is missing" ends with
#: its number, which the page shows anyway).
CHAIN_REASONS = {
    "does not link to the previous event": "it does not hold the hash of the entry before it",
    "its contents do not match its hash": "its contents do not match its hash",
    "the chain head does not match the last event": "the chain’s head does not match the last entry",
    "is missing": "the entry is missing",
}

#: The usage page's periods (days → name), its channels and its daily limits (notify's, by channel).
USAGE_PERIODS = {7: "Last 7 days", 30: "Last 30 days"}
CHANNEL_NAMES = {"email": "Emails", "sms": "Text messages", "letter": "Letters"}
DAILY_LIMIT_NAMES = {
    "email": "Emails",
    "sms": "Text messages",
    "letter": "Letters",
    "international_sms": "International text messages",
}
#: The levels a sign-in reaches, as the ID token's `vot` (and the identity level, when one was asked for).
SIGN_IN_LEVELS = {
    "Cl": "Cl: a password",
    "Cl.Cm": "Cl.Cm: a password and a second factor",
    "Cl.Cm.P1": "Cl.Cm.P1: and a low confidence identity",
    "Cl.Cm.P2": "Cl.Cm.P2: and a medium confidence identity",
}
#: How identity proving went in a sign-in that asked for an identity level.
PROVING_OUTCOMES = {
    "proved": "Proved during the sign-in",
    "reused": "Proved before, reused",
    "failed": "Not proved",
}
