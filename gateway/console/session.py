"""The console's cookies: the signed-in session, and the short-lived sign-in attempt.

Both are signed, not stored: any gateway replica accepts them and nothing needs cleaning up. The attempt cookie
carries the OIDC request's `state`, `nonce` and PKCE verifier between the redirect to identity and the callback
(identity's single-use code is what stops a replay). The session cookie carries who signed in and until when,
and the ID token, which sign-out hands back to identity as `id_token_hint`. Cookies are HttpOnly, SameSite=Lax
(the callback is a top-level redirect from identity) and `Secure` with the `__Host-` prefix except in development
over plain http, as the kernel's CSRF cookie is.

The signing key is derived from the console's page secret (`GATEWAY_CSRF_SECRET`) under its own label, so it
never equals the CSRF key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

SIGN_IN_SECONDS = 600


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in admin: identity's `sub` and verified email, and the ID token for signing out."""

    email: str
    sub: str
    id_token: str
    expires_at: int


@dataclass(frozen=True)
class SignInAttempt:
    state: str
    nonce: str
    verifier: str
    #: The console page to return to after signing in (always a path under /console).
    next_path: str
    expires_at: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ConsoleCookies:
    """Signs, reads, sets and clears the console's two cookies. Built once at start-up."""

    def __init__(self, secret: str, *, secure: bool, session_seconds: int) -> None:
        self._key = hmac.new(secret.encode(), b"gaap-console/session/v1", hashlib.sha256).digest()
        self.secure = secure
        self.session_seconds = session_seconds
        prefix = "__Host-" if secure else ""
        self.session_name = f"{prefix}gaap-console"
        self.sign_in_name = f"{prefix}gaap-console-sign-in"

    def _sign(self, purpose: str, values: dict[str, Any]) -> str:
        body = _b64(json.dumps({**values, "purpose": purpose}, separators=(",", ":")).encode())
        return f"{body}.{_b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())}"

    def _read(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        expected = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return None
        try:
            values = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(values, dict) or values.pop("purpose", None) != purpose:
            return None
        if not isinstance(values.get("expires_at"), int) or values["expires_at"] <= time.time():
            return None
        return values

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="lax")

    def session(self, request: Request) -> ConsoleSession | None:
        values = self._read("session", request.cookies.get(self.session_name))
        try:
            return ConsoleSession(**values) if values else None
        except TypeError:
            return None

    def start_session(self, response: Response, *, email: str, sub: str, id_token: str) -> ConsoleSession:
        session = ConsoleSession(email, sub, id_token, int(time.time()) + self.session_seconds)
        self._set(response, self.session_name, self._sign("session", asdict(session)), self.session_seconds)
        return session

    def end_session(self, response: Response) -> None:
        response.delete_cookie(self.session_name, path="/", secure=self.secure, httponly=True, samesite="lax")

    def sign_in_attempt(self, request: Request) -> SignInAttempt | None:
        values = self._read("sign-in", request.cookies.get(self.sign_in_name))
        try:
            return SignInAttempt(**values) if values else None
        except TypeError:
            return None

    def start_sign_in(self, response: Response, *, state: str, nonce: str, verifier: str, next_path: str) -> None:
        attempt = SignInAttempt(state, nonce, verifier, next_path, int(time.time()) + SIGN_IN_SECONDS)
        self._set(response, self.sign_in_name, self._sign("sign-in", asdict(attempt)), SIGN_IN_SECONDS)

    def end_sign_in(self, response: Response) -> None:
        response.delete_cookie(self.sign_in_name, path="/", secure=self.secure, httponly=True, samesite="lax")
