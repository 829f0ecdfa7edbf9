"""Which component owns a path, how its callers authenticate, and which error format its answers use.

Paths are the reference APIs' own, at the root (official clients join paths with `urljoin`). The table is the one
in ARCHITECTURE.md; it is built once and matched with a few string tests per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Auth(StrEnum):
    notify_key = "notify_key"
    pay_key = "pay_key"
    #: Paths that carry their own credential (OAuth, pages, webhooks, unsubscribe links): no key check, but
    #: still rate-limited per client address, and forwarded with an anonymous principal token.
    anonymous = "anonymous"


@dataclass(frozen=True, slots=True)
class Route:
    component: str
    auth: Auth
    #: The error family of the gateway's own answers on this path: "notify", "pay", "oauth" or "html".
    family: str
    #: A bulk upload path may carry a larger body.
    bulk: bool = False


NOTIFY_API = Route("notify", Auth.notify_key, "notify")
NOTIFY_BULK = Route("notify", Auth.notify_key, "notify", bulk=True)
NOTIFY_OPEN = Route("notify", Auth.anonymous, "notify")
#: The file download pages of notify spec §12 (`/d/<service>/<document>?key=...`): the link is the credential.
NOTIFY_PAGES = Route("notify", Auth.anonymous, "html")
PAY_API = Route("pay", Auth.pay_key, "pay")
PAY_OPEN_API = Route("pay", Auth.anonymous, "pay")
PAY_PAGES = Route("pay", Auth.anonymous, "html")
IDENTITY_API = Route("identity", Auth.anonymous, "oauth")
IDENTITY_PAGES = Route("identity", Auth.anonymous, "html")
#: `/internal/*` belongs to the services' gateway-only APIs and is never routed.
BLOCKED = Route("", Auth.anonymous, "platform")

_VERSIONS = re.compile(r"^/service/[^/]+/template/[^/]+/versions/?$")
_PAY_PAGE_PREFIXES = ("/secure", "/card_details/", "/check_card/", "/return/", "/link/")
_IDENTITY_API_EXACT = {"/token", "/userinfo", "/trustmark"}
_IDENTITY_PAGE_EXACT = {"/authorize", "/logout"}
_NOTIFY_WEBHOOKS = ("/notifications/sms/", "/notifications/email/", "/notifications/letter/")
_OAUTH_BACK_CHANNEL = {"/token", "/userinfo"}


def _under(path: str, prefix: str) -> bool:
    """`/v2` owns `/v2` and `/v2/...` but not `/v2x`."""
    return path == prefix or path.startswith(prefix + "/")


def is_provider_webhook(path: str) -> bool:
    """A provider's delivery receipt or inbound text, posted to notify (rate-limited as such, see `limits`)."""
    return path.startswith(_NOTIFY_WEBHOOKS)


def is_oauth_back_channel(path: str) -> bool:
    """A relying party's server calling identity's token or userinfo endpoint (rate-limited as such, see `limits`)."""
    return path.rstrip("/") in _OAUTH_BACK_CHANNEL


def match_path(path: str) -> Route | None:
    """The route owning `path`, `BLOCKED`, or None for the gateway's own paths."""
    if _under(path, "/internal"):
        return BLOCKED
    if _under(path, "/v2"):
        return NOTIFY_BULK if path.startswith("/v2/notifications/bulk") else NOTIFY_API
    if _under(path, "/v1"):
        return PAY_OPEN_API if path in ("/v1/auth", "/v1/auth/") else PAY_API
    if is_provider_webhook(path) or _under(path, "/unsubscribe"):
        return NOTIFY_OPEN
    if _under(path, "/d"):
        return NOTIFY_PAGES
    if _VERSIONS.match(path):
        return NOTIFY_API
    if path.startswith(_PAY_PAGE_PREFIXES):
        return PAY_PAGES
    if path in _IDENTITY_API_EXACT or _under(path, "/.well-known") or _under(path, "/identity/vocab"):
        return IDENTITY_API
    if path in _IDENTITY_PAGE_EXACT or _under(path, "/identity"):
        return IDENTITY_PAGES
    return None


class Router:
    """Path routing, optionally narrowed by host: a host mapped to a component reaches only that component."""

    def __init__(self, hosts: str = "") -> None:
        self.hosts: dict[str, str] = {}
        for part in hosts.split(","):
            host, sep, component = part.strip().partition("=")
            if sep:
                self.hosts[host.strip().lower()] = component.strip()

    def match(self, path: str, host: str | None = None) -> Route | None:
        route = match_path(path)
        if self.hosts and host:
            owner = self.hosts.get(host.split(":", 1)[0].lower())
            if owner is not None and route is not None and route is not BLOCKED and route.component != owner:
                return None
        return route
