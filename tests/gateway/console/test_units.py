"""The console's pieces on their own: ID token checks, its cookies, its client record, its Welsh."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from gaap.pages import missing_translations
from gaap.pages.i18n import Catalogues
from gateway.console.oidc import ConsoleRelyingParty, SignInFailed, client_record, form_targets
from gateway.console.session import ConsoleCookies
from gateway.console.signin import _console_path
from gateway.console.texts import (
    CLIENT_AUTH_METHODS,
    CLIENT_FORM_ERRORS,
    CLIENT_ID_TOKEN_ALGORITHMS,
    KEY_FORM_ERRORS,
    KEY_KINDS,
    NOTIFICATION_STATUSES,
    NOTIFY_KEY_TYPES,
    PAY_MODES,
    PAYMENT_STATES,
    RECIPIENT_MISSING,
    REFUND_AMOUNT_ERROR,
    ROLE_NAMES,
    TEMPLATE_FORM_ERRORS,
    TEMPLATE_TYPES,
)
from gateway.settings import GatewaySettings

CONSOLE = Path(__file__).resolve().parents[3] / "gateway" / "console"
ISSUER = "https://gaap.example.gov.uk/"


@pytest.fixture(scope="module")
def identity_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "identity-1"})


def _settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "console_client_key": SecretStr(json.dumps(ECKey.generate_key("P-256").as_dict(private=True))),
        "console_issuer": ISSUER,
        "console_base_url": ISSUER.rstrip("/"),
    }
    return GatewaySettings(**{**values, **overrides})


def _id_token(key: ECKey, **claims: Any) -> str:
    now = int(time.time())
    values = {"iss": ISSUER, "aud": "gaap-console", "sub": "urn:fdc:gaap:1", "iat": now, "exp": now + 120}
    values |= {"nonce": "n-1", "vot": "Cl.Cm", **claims}
    return jwt.encode({"alg": "ES256", "kid": "identity-1"}, {k: v for k, v in values.items() if v is not None}, key)


def test_a_good_id_token_is_accepted(identity_key: ECKey) -> None:
    rp = ConsoleRelyingParty(_settings())
    jwks = {"keys": [identity_key.as_dict(private=False)]}
    assert rp.verify_id_token(_id_token(identity_key), jwks, nonce="n-1")["sub"] == "urn:fdc:gaap:1"


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "another"},
        {"nonce": None},
        {"aud": "someone-else"},
        {"iss": "https://elsewhere.example/"},
        {"vot": "Cl"},
        {"vot": None},
        {"exp": int(time.time()) - 120},
    ],
)
def test_an_id_token_the_console_cannot_rely_on_is_refused(identity_key: ECKey, claims: dict[str, Any]) -> None:
    rp = ConsoleRelyingParty(_settings())
    jwks = {"keys": [identity_key.as_dict(private=False)]}
    with pytest.raises(SignInFailed):
        rp.verify_id_token(_id_token(identity_key, **claims), jwks, nonce="n-1")


def test_an_id_token_signed_by_another_key_is_refused(identity_key: ECKey) -> None:
    rp = ConsoleRelyingParty(_settings())
    other = ECKey.generate_key("P-256", parameters={"kid": "identity-1"})
    with pytest.raises(SignInFailed):
        rp.verify_id_token(_id_token(other), {"keys": [identity_key.as_dict(private=False)]}, nonce="n-1")


def test_an_rs256_id_token_verifies_only_with_its_rsa_key(identity_key: ECKey) -> None:
    """Identity publishes EC and RSA keys side by side; a token verifies with the key its `kid` names, and only
    in that key's algorithm."""
    rp = ConsoleRelyingParty(_settings())
    rsa = RSAKey.generate_key(2048, parameters={"kid": "identity-rsa", "alg": "RS256", "use": "sig"})
    jwks = {"keys": [identity_key.as_dict(private=False), rsa.as_dict(private=False)]}
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "gaap-console", "sub": "urn:fdc:gaap:1", "iat": now, "exp": now + 120,
              "nonce": "n-1", "vot": "Cl.Cm"}  # fmt: skip
    signed = jwt.encode({"alg": "RS256", "kid": "identity-rsa"}, claims, rsa)
    assert rp.verify_id_token(signed, jwks, nonce="n-1")["sub"] == "urn:fdc:gaap:1"
    # An ES256 token claiming the RSA key's kid, or an RS256 one claiming the EC key's, is refused.
    with pytest.raises(SignInFailed):
        rp.verify_id_token(jwt.encode({"alg": "ES256", "kid": "identity-rsa"}, claims, identity_key), jwks, nonce="n-1")
    with pytest.raises(SignInFailed):
        rp.verify_id_token(jwt.encode({"alg": "RS256", "kid": "identity-1"}, claims, rsa), jwks, nonce="n-1")


def test_the_client_record_holds_only_the_public_key() -> None:
    settings = _settings()
    record = client_record(settings)
    assert record["ClientID"] == "gaap-console"
    assert record["RedirectUrls"] == ["https://gaap.example.gov.uk/console/sign-in/callback"]
    assert record["PostLogoutRedirectUrls"] == ["https://gaap.example.gov.uk/console/signed-out"]
    assert "d" not in record["PublicKey"] and record["PKCEEnforced"] is True
    assert not ConsoleRelyingParty(GatewaySettings()).configured


def test_forms_may_lead_to_identity_only_when_it_is_elsewhere() -> None:
    assert form_targets(_settings()) == ("'self'",)
    elsewhere = _settings(console_issuer="https://signin.example.gov.uk/")
    assert form_targets(elsewhere) == ("'self'", "https://signin.example.gov.uk")


@pytest.mark.parametrize(
    ("asked", "returned"),
    [
        ("/console/services/1/api-keys", "/console/services/1/api-keys"),
        ("/console", "/console"),
        (None, "/console"),
        ("https://evil.example/console", "/console"),
        ("//evil.example/console", "/console"),
        ("/console//evil.example", "/console"),
        ("/consoleevil", "/console"),
        ("/v1/payments", "/console"),
    ],
)
def test_only_console_pages_are_returned_to(asked: str | None, returned: str) -> None:
    assert _console_path(asked) == returned


def _request(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", header.encode())]})


def _cookie_value(response: Response, name: str) -> str:
    header = next(v for k, v in response.raw_headers if k == b"set-cookie" and v.startswith(name.encode() + b"="))
    return header.decode().split(";")[0].split("=", 1)[1]


def test_session_cookies_are_signed_and_expire() -> None:
    cookies = ConsoleCookies("a console secret of some length", secure=True, session_seconds=60)
    assert cookies.session_name == "__Host-gaap-console"
    response = Response()
    cookies.start_session(response, email="a@example.gov.uk", sub="s", id_token="t")
    value = _cookie_value(response, cookies.session_name)
    session = cookies.session(_request({cookies.session_name: value}))
    assert session is not None and session.email == "a@example.gov.uk"
    # Another secret, another purpose, or an expired cookie: no session.
    other = ConsoleCookies("another secret of some length!!", secure=True, session_seconds=60)
    assert other.session(_request({other.session_name: value})) is None
    assert cookies.sign_in_attempt(_request({cookies.sign_in_name: value})) is None
    expired = ConsoleCookies("a console secret of some length", secure=True, session_seconds=-1)
    stale = Response()
    expired.start_session(stale, email="a@example.gov.uk", sub="s", id_token="t")
    assert cookies.session(_request({cookies.session_name: _cookie_value(stale, cookies.session_name)})) is None


def test_welsh_is_complete() -> None:
    assert missing_translations([CONSOLE / "templates"], [CONSOLE / "locale"], "cy") == []
    # Texts chosen in Python are not extracted from the templates: each must be in the catalogue too.
    welsh = Catalogues([CONSOLE / "locale"])
    chosen = [*ROLE_NAMES.values(), *KEY_KINDS.values(), *(text for _field, text in KEY_FORM_ERRORS.values())]
    chosen += [*TEMPLATE_TYPES.values(), *TEMPLATE_FORM_ERRORS.values(), *NOTIFICATION_STATUSES.values()]
    chosen += [*NOTIFY_KEY_TYPES.values(), *RECIPIENT_MISSING.values(), *PAY_MODES.values(), *PAYMENT_STATES.values()]
    chosen += [REFUND_AMOUNT_ERROR, *CLIENT_AUTH_METHODS.values(), *CLIENT_FORM_ERRORS.values()]
    chosen += [*CLIENT_ID_TOKEN_ALGORITHMS.values()]
    assert [text for text in chosen if welsh.gettext("cy", text) == text] == []
