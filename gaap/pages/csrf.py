"""CSRF protection for page forms: a signed double-submit cookie.

The browser holds a random value in a cookie (`__Host-gaap-csrf` when cookies are secure, so no sibling host
can plant one; HttpOnly; SameSite=Lax). Each form carries `HMAC-SHA256(key, cookie value)` in a hidden
`csrf_token` field (or an `X-CSRF-Token` header for scripted calls). A cross-site attacker can make the
browser send the cookie but can neither read it nor compute the token without the server's key, and the check
needs no server-side state, so it works the same in every replica and behind the gateway.

The key is derived from the component's own secret, which the component passes in; the token comparison is
constant-time. Verification is a FastAPI dependency (`CsrfProtected`) that reads the `CsrfProtection` of the
app's `Pages` (installed with `Pages.install(app)`), and a failure raises `CsrfFailed`, which renders the HTML
403 page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from gaap.pages.errors import PageError

FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class CsrfFailed(PageError):
    """The form's CSRF token is missing or does not match the browser's CSRF cookie."""

    status_code = 403
    code = "CsrfFailed"
    message = "The form could not be accepted: its security token is missing or does not match"
    reason = "csrf"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class CsrfProtection:
    """Issues and checks CSRF tokens for one component.

    `secret` is the component's own settings secret; `secure` is False only in development over plain http,
    where browsers would drop a `Secure` or `__Host-` cookie.
    """

    field_name = FIELD_NAME
    header_name = HEADER_NAME

    def __init__(self, secret: str | bytes, *, secure: bool = True) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < 16:
            raise ValueError("the CSRF secret must be at least 16 bytes")
        self._key = hmac.new(raw, b"gaap-pages/csrf/v1", hashlib.sha256).digest()
        self.secure = secure
        self.cookie_name = "__Host-gaap-csrf" if secure else "gaap-csrf"

    @staticmethod
    def new_cookie_value() -> str:
        return _b64(secrets.token_bytes(32))

    def cookie_value(self, request: Request) -> str | None:
        """The browser's CSRF cookie, if it has a well-formed one."""
        value = request.cookies.get(self.cookie_name)
        return value if value and _VALUE.match(value) else None

    def token_for(self, cookie_value: str) -> str:
        return _b64(hmac.new(self._key, cookie_value.encode(), hashlib.sha256).digest())

    def is_valid(self, cookie_value: str | None, token: str | None) -> bool:
        if not cookie_value or not token:
            return False
        return hmac.compare_digest(self.token_for(cookie_value).encode(), token.encode("utf-8", "replace"))

    def set_cookie(self, response: Response, value: str) -> None:
        """A session cookie: it lives as long as the browser session, so a form left open still posts."""
        response.set_cookie(self.cookie_name, value, path="/", secure=self.secure, httponly=True, samesite="lax")

    async def submitted_token(self, request: Request) -> str | None:
        """The token from the `X-CSRF-Token` header, else from the form body's `csrf_token` field."""
        header = request.headers.get(self.header_name)
        if header:
            return header
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith(_FORM_TYPES):
            return None
        form = await request.form()
        value = form.get(self.field_name)
        return value if isinstance(value, str) else None

    async def verify(self, request: Request) -> None:
        """Raise `CsrfFailed` unless a request with an unsafe method carries a token matching its cookie."""
        if request.method in SAFE_METHODS:
            return
        if not self.is_valid(self.cookie_value(request), await self.submitted_token(request)):
            raise CsrfFailed()


def protection_of(request: Request) -> CsrfProtection:
    """The `CsrfProtection` of the app's `Pages`; `Pages.install(app)` puts it there."""
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        raise RuntimeError("no Pages installed on this app: call pages.install(app) at start-up")
    protection: CsrfProtection = pages.csrf
    return protection


async def require_csrf(request: Request) -> None:
    """FastAPI dependency: reject a form post whose CSRF token does not match the browser's cookie."""
    await protection_of(request).verify(request)


#: Put `_: CsrfProtected` in a page endpoint's signature (or `dependencies=[Depends(require_csrf)]` on a
#: router).
CsrfProtected = Annotated[None, Depends(require_csrf)]
