"""The payer's browser session: the `pay_session` cookie (pay spec §13.2).

The cookie holds a random session ID, the IDs of up to 10 payments this browser may act on, and the session's CSRF
secret. It is sealed with AES-256-GCM (encrypted, and authenticated so that a tampered cookie is simply no
session) under a key derived from `PAY_TOKEN_SECRET`; nothing about the session is kept on the server, so every
replica accepts it. Its attributes are `Secure; HttpOnly; SameSite=Lax` always, development included: Chromium
keeps `Secure` cookies on `http://127.0.0.1` and `http://localhost`.

The name is pay's own (`pay_session`), since the pages may share the gateway's origin with other components' pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, replace
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import HTTPConnection
from starlette.responses import Response

from services.pay.ids import new_id
from services.pay.payments.tokens import token_hash

COOKIE_NAME = "pay_session"
MAX_PAYMENTS = 10
_ASSOCIATED = b"gaap-pay/pay_session/v1"
_NONCE = 12
#: Where the decoded session is cached on the request, so the CSRF check and the route decode it once.
_STATE_KEY = "pay_session"
_NONE = object()


@dataclass(frozen=True)
class PaySession:
    id: str
    payments: tuple[str, ...] = ()
    csrf: str = ""

    @classmethod
    def new(cls) -> PaySession:
        return cls(id=new_id(), csrf=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))

    @property
    def fingerprint(self) -> str:
        """What a token row records as its user (`used_by`): a hash, so the table never holds a live session ID."""
        return token_hash(self.id)

    def holds(self, payment_id: str) -> bool:
        return payment_id in self.payments

    def with_payment(self, payment_id: str) -> PaySession:
        """This session with `payment_id` added as the newest; the oldest beyond 10 are forgotten."""
        kept = (*(p for p in self.payments if p != payment_id), payment_id)
        return replace(self, payments=kept[-MAX_PAYMENTS:])


class SessionCodec:
    """Seals and opens `pay_session` cookies, and sets them on responses."""

    def __init__(self, secret: bytes, *, max_age: int) -> None:
        key = hmac.new(secret, b"gaap-pay/pay_session/key/v1", hashlib.sha256).digest()
        self._cipher = AESGCM(key)
        self.max_age = max_age

    def seal(self, session: PaySession) -> str:
        payload = orjson.dumps({"i": session.id, "p": list(session.payments), "c": session.csrf})
        nonce = os.urandom(_NONCE)
        sealed = self._cipher.encrypt(nonce, payload, _ASSOCIATED)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, value: str) -> PaySession | None:
        """The session in a cookie value, or None for anything tampered, truncated or sealed under another key."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data: Any = orjson.loads(self._cipher.decrypt(raw[:_NONCE], raw[_NONCE:], _ASSOCIATED))
            payments = tuple(str(p) for p in data["p"])[-MAX_PAYMENTS:]
            return PaySession(id=str(data["i"]), payments=payments, csrf=str(data["c"]))
        except Exception:  # any failure means "no session": the payer is asked to start again
            return None

    def read(self, connection: HTTPConnection) -> PaySession | None:
        """The request's session, decoded once per request."""
        cached = connection.scope.setdefault("state", {}).get(_STATE_KEY, _NONE)
        if cached is not _NONE:
            return cached
        value = connection.cookies.get(COOKIE_NAME)
        session = self.open(value) if value else None
        connection.scope["state"][_STATE_KEY] = session
        return session

    def begin(self, connection: HTTPConnection) -> tuple[PaySession, bool]:
        """The request's session, or a new one that the rest of the request sees (True: the response must set its
        cookie). A page whose form starts a payment (a payment link's) needs one before there is any payment, so
        that its CSRF token is bound to it."""
        session = self.read(connection)
        if session is not None:
            return session, False
        session = PaySession.new()
        connection.scope["state"][_STATE_KEY] = session
        return session, True

    def write(self, response: Response, session: PaySession) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.seal(session),
            max_age=self.max_age,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
