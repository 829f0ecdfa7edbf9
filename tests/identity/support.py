"""A relying party written the way a department would write one, without the server's JOSE stack: it signs its
client assertions and checks ID tokens with PyJWT, makes its own PKCE pair, and drives the sign-in pages like a
browser without JavaScript (following redirects by hand and posting each form with its CSRF token)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gaap.embedded.inbox import list_texts
from services.identity.accounts import totp
from services.notify.recipients.phone import SMOKE_TEST_NUMBERS

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def confused_token(payload: dict[str, Any], key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> str:
    """A token "signed" HS256 with the PEM of `key`'s public half: the algorithm-confusion attack. PyJWT refuses to
    make one, so it is made by hand."""
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}).encode())
    body = b64url(json.dumps(payload).encode())
    signature = b64url(hmac.new(public_pem, f"{header}.{body}".encode(), "sha256").digest())
    return f"{header}.{body}.{signature}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def public_jwk(key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    if kid:
        jwk["kid"] = kid
    return jwk


@dataclass
class RelyingParty:
    client_id: str
    issuer: str
    redirect_uri: str = "https://rp.example.test/callback"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str = "rp-key-1"
    #: The client's `IdTokenSigningAlgorithm`: the only algorithm `verify_id_token` accepts.
    id_token_alg: str = "ES256"

    def record(self, **overrides: Any) -> dict[str, Any]:
        """The client's record in One Login's field names, as the console stores it in `settings["identity"]`."""
        record: dict[str, Any] = {
            "ClientID": self.client_id,
            "ClientName": "Test service",
            "RedirectUrls": [self.redirect_uri],
            "PostLogoutRedirectUrls": ["https://rp.example.test/signed-out"],
            "Scopes": ["openid", "email", "phone"],
            "PublicKeySource": "STATIC",
            "PublicKey": public_jwk(self.key, self.kid),
            "SubjectType": "pairwise",
            "IdTokenSigningAlgorithm": self.id_token_alg,
        }
        record.update(overrides)
        return record

    def authorize_params(self, **overrides: Any) -> dict[str, str]:
        self.verifier, challenge = pkce_pair()
        self.nonce, self.state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def assertion(self, *, aud: str | None = None, alg: str = "ES256", key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud or self.issuer + "token",
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        headers = {"kid": self.kid} if self.kid else {}
        return jwt.encode(payload, key if key is not None else self.key, algorithm=alg, headers=headers)

    def request_object(self, *, key: Any = None, alg: str = "ES256", **claims: Any) -> str:
        """Fresh authorization parameters (state, nonce, PKCE) signed as a request object (spec §5.3)."""
        payload: dict[str, Any] = {
            "iss": self.client_id,
            "aud": self.issuer + "authorize",
            "exp": int(time.time()) + 300,
        }
        payload.update(self.authorize_params())
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key if key is not None else self.key, algorithm=alg, headers={"kid": self.kid})

    def jar_url(self, token: str, **query: str | None) -> str:
        """`/authorize` with a request object: the query repeats `response_type`, `scope` and `client_id`."""
        params = {"response_type": "code", "scope": "openid email", "client_id": self.client_id, "request": token}
        params.update(query)
        return "/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})

    def token_form(self, code: str, **overrides: Any) -> dict[str, str]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        form.update(overrides)
        return {k: v for k, v in form.items() if v is not None}

    def verify_id_token(self, token: str, jwks: dict[str, Any]) -> dict[str, Any]:
        """The RP's checks (One Login's simulator list): alg (the client's), kid in JWKS, signature, iss, aud, exp,
        iat, nonce."""
        header = jwt.get_unverified_header(token)
        assert header["alg"] == self.id_token_alg and header["typ"] == "JWT"
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        assert key["alg"] == self.id_token_alg
        claims: dict[str, Any] = jwt.decode(
            token,
            jwt.PyJWK(key).key,
            algorithms=[self.id_token_alg],
            audience=self.client_id,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        assert claims.get("nonce") == self.nonce  # None: a request without a nonce gets a token without one
        return claims


def code_from(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.fragment or parts.query).items()}


@dataclass
class Phone:
    """A mobile number of the Ofcom drama range, and the texts the fake SMS provider took for it."""

    number: str
    store: Path
    seen: set[str]

    @classmethod
    def new(cls, store: Path) -> Phone:
        # 7700900002 and 7700900003 are the fake provider's failing numbers; notify accepts its smoke-test numbers
        # (900000, 900111, 900222) and sends nothing.
        numbers = [n for n in range(4, 1000) if f"447700900{n:03d}" not in SMOKE_TEST_NUMBERS]
        number = f"07700 900{secrets.choice(numbers):03d}"
        return cls(number, store, {t.id for t in list_texts(store, to=number, limit=1000)})

    @property
    def e164(self) -> str:
        return "+44" + self.number.replace(" ", "")[1:]

    def code(self, within: float = 30) -> str:
        """The code in the next text this number gets (notify's worker delivers it a moment after the send)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for text in reversed(list_texts(self.store, to=self.number, limit=50)):
                if text.id not in self.seen:
                    self.seen.add(text.id)
                    found = re.search(r"\b(\d{6})\b", text.content)
                    assert found, text.content
                    return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no new text to {self.number}")

    def texts_when(self, count: int, within: float = 30) -> list[str]:
        """The texts to this number, newest first, once there are `count` of them (delivery takes a moment)."""
        deadline = time.monotonic() + within
        while len(texts := self.texts()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return texts

    def texts(self) -> list[str]:
        return [t.content for t in list_texts(self.store, to=self.number, limit=1000)]


@dataclass
class Person:
    email: str
    password: str
    totp_secret: str
    last_counter: int = 0
    #: When the second factor is text messages: the phone they go to.
    phone: Phone | None = None

    def next_code(self) -> str:
        """The next texted code, or a code for a time step not used yet: this step's, or the next one's (the
        server accepts ±1 step)."""
        if self.phone is not None:
            return self.phone.code()
        counter = max(int(time.time()) // totp.STEP, self.last_counter + 1)
        self.last_counter = counter
        return totp.code_at(self.totp_secret, counter)


class Browser:
    """An httpx client that behaves like a browser without JavaScript: cookies kept, forms posted with their CSRF
    token, redirects followed by hand so tests can see each step."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.last: httpx.Response | None = None

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        self.last = self.client.get(url, **kwargs)
        return self.last

    def submit(self, url: str, *, action: str | None = None, **fields: str) -> httpx.Response:
        """Post the form on `url` (loading it first for its CSRF token) to its `action` (default: `url`)."""
        page = self.client.get(url)
        token = CSRF.search(page.text)
        assert token, f"no form on {url}: {page.status_code} {page.text[:300]}"
        self.last = self.client.post(action or url, data={"csrf_token": token.group(1), **fields})
        return self.last

    def follow(self, response: httpx.Response, *, until: str | None = None) -> httpx.Response:
        """Follow same-origin redirects; stop at a redirect off-site (to the RP) or at `until`."""
        while response.status_code in (302, 303) and response.headers["location"].startswith("/"):
            if until and response.headers["location"].startswith(until):
                break
            response = self.client.get(response.headers["location"])
        self.last = response
        return response

    def authorize(self, rp: RelyingParty, **params: Any) -> httpx.Response:
        return self.follow(self.get("/authorize?" + urlencode(rp.authorize_params(**params))))

    def sign_in(self, person: Person, *, second_factor: bool = True) -> httpx.Response:
        """From the email page to wherever signing in leads (the RP redirect, normally)."""
        response = self.submit("/identity/sign-in", email=person.email)
        assert response.headers.get("location") == "/identity/sign-in/password", response.text[:500]
        response = self.submit("/identity/sign-in/password", password=person.password)
        if response.headers.get("location") == "/identity/sign-in/security-code" and second_factor:
            response = self.submit("/identity/sign-in/security-code", code=person.next_code())
        return self.follow(response)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
