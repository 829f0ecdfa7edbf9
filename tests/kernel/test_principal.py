"""The gateway-signed principal token: signing, verification, key rotation, and the FastAPI dependencies that
make every endpoint say who may call it."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
import pytest
from fastapi import APIRouter
from jwt.utils import base64url_decode
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from gaap.app import Component, build_app
from gaap.principal import (
    ISSUER,
    PRINCIPAL_HEADER,
    AnyPrincipal,
    InvalidPrincipal,
    Principal,
    PrincipalSigner,
    PrincipalVerifier,
    ServicePrincipal,
    service_keyring,
)
from gaap.settings import DEV_PRINCIPAL_KEYS, ComponentSettings, derive_audience_key, format_keyring, parse_keyring

FULL = Principal(
    request_id="rid-0123456789",
    service_id="5b1a1f4e-0000-4000-8000-000000000001",
    key_id="9c2e7d3a-0000-4000-8000-000000000002",
    key_type="team",
    scopes=frozenset({"notifications:send", "templates:read"}),
    organisation_id="org-42",
)
ANONYMOUS = Principal(request_id="rid-anonymous-1")


def master(kid: str) -> tuple[str, bytes]:
    return kid, os.urandom(32)


def verifier_for(audience: str, *masters: tuple[str, bytes]) -> PrincipalVerifier:
    """A service's verifier, holding the keys derived for its own audience (as `gaap principal-key derive` gives)."""
    return PrincipalVerifier(audience, [(kid, derive_audience_key(key, audience)) for kid, key in masters])


def tamper_payload(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    decoded = json.loads(base64url_decode(payload.encode()))
    decoded.update(changes)
    new_payload = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
    return f"{header}.{new_payload}.{signature}"


# Signing and verifying ----------------------------------------------------------------------------------------


def test_round_trip_keeps_every_claim() -> None:
    key = master("m1")
    token = PrincipalSigner([key], ttl_seconds=60).sign("notify", FULL)

    assert verifier_for("notify", key).verify(token) == FULL

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "m1"}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "notify"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["scp"] == ["notifications:send", "templates:read"]


def test_anonymous_principal_round_trips() -> None:
    key = master("m1")
    token = PrincipalSigner([key]).sign("identity", ANONYMOUS)

    principal = verifier_for("identity", key).verify(token)

    assert principal == ANONYMOUS
    assert principal.anonymous
    assert principal.service_id is None and principal.scopes == frozenset()
    assert not FULL.anonymous


def test_wrong_audience_is_rejected_even_under_the_right_key() -> None:
    key = master("m1")
    token = PrincipalSigner([key]).sign("notify", FULL)

    with pytest.raises(InvalidPrincipal):
        verifier_for("pay", key).verify(token)  # pay's own key: the signature does not match
    notify_key = derive_audience_key(key[1], "notify")
    with pytest.raises(InvalidPrincipal, match=r"(?i)audience"):
        PrincipalVerifier("pay", [("m1", notify_key)]).verify(token)  # right signature, wrong `aud`


def test_expired_token_is_rejected() -> None:
    key = master("m1")
    signer = PrincipalSigner([key], ttl_seconds=60)
    verifier = verifier_for("notify", key)

    stale = signer.sign("notify", FULL, now=time.time() - 120)
    with pytest.raises(InvalidPrincipal, match="expired"):
        verifier.verify(stale)

    fresh = signer.sign("notify", FULL)
    assert verifier.verify(fresh, now=time.time() + 30) == FULL
    with pytest.raises(InvalidPrincipal, match="expired"):
        verifier.verify(fresh, now=time.time() + 60 + 6)  # past exp and the 5 s leeway


def test_an_explicit_clock_is_honoured_by_verify() -> None:
    key = master("m1")
    fixed = 1_767_225_600  # 2026-01-01T00:00:00Z
    token = PrincipalSigner([key], ttl_seconds=60).sign("notify", FULL, now=fixed)

    assert verifier_for("notify", key).verify(token, now=fixed + 10) == FULL


def test_unknown_kid_is_rejected() -> None:
    token = PrincipalSigner([master("retired")]).sign("notify", FULL)

    with pytest.raises(InvalidPrincipal, match="unknown key"):
        verifier_for("notify", master("current")).verify(token)


def test_token_without_kid_is_rejected() -> None:
    key = master("m1")
    token = jwt.encode(
        {"rid": "r-12345678", "iss": ISSUER, "aud": "notify", "iat": int(time.time()), "exp": int(time.time()) + 60},
        derive_audience_key(key[1], "notify"),
        algorithm="HS256",
    )

    with pytest.raises(InvalidPrincipal, match="unknown key"):
        verifier_for("notify", key).verify(token)


def test_tampered_token_is_rejected() -> None:
    key = master("m1")
    token = PrincipalSigner([key]).sign("notify", FULL)
    verifier = verifier_for("notify", key)

    with pytest.raises(InvalidPrincipal, match="not valid"):
        verifier.verify(tamper_payload(token, sub="another-service"))
    with pytest.raises(InvalidPrincipal, match="not valid"):
        verifier.verify(tamper_payload(token, scp=["*"]))
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidPrincipal):
        verifier.verify(f"{header}.{payload}.{flipped}")
    with pytest.raises(InvalidPrincipal):
        verifier.verify("not-a-token")


def test_unsigned_and_foreign_tokens_are_rejected() -> None:
    key = master("m1")
    verifier = verifier_for("notify", key)
    claims = {"rid": "r-12345678", "sub": "svc", "iss": ISSUER, "aud": "notify", "iat": int(time.time())}
    claims["exp"] = claims["iat"] + 60

    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "m1"})
    with pytest.raises(InvalidPrincipal):
        verifier.verify(unsigned)
    wrong_issuer = jwt.encode(
        {**claims, "iss": "someone-else"}, derive_audience_key(key[1], "notify"), "HS256", headers={"kid": "m1"}
    )
    with pytest.raises(InvalidPrincipal, match="issuer"):
        verifier.verify(wrong_issuer)
    no_request_id = jwt.encode(
        {k: v for k, v in claims.items() if k != "rid"},
        derive_audience_key(key[1], "notify"),
        "HS256",
        headers={"kid": "m1"},
    )
    with pytest.raises(InvalidPrincipal, match="rid"):
        verifier.verify(no_request_id)


def test_rotation_accepts_tokens_from_the_old_and_the_new_master() -> None:
    old, new = master("2025"), master("2026")
    verifier = verifier_for("pay", new, old)  # the service holds both while the gateways move over

    from_old_gateway = PrincipalSigner([old]).sign("pay", FULL)
    from_new_gateway = PrincipalSigner([new, old]).sign("pay", FULL)

    assert jwt.get_unverified_header(from_new_gateway)["kid"] == "2026"  # the first key signs
    assert verifier.verify(from_old_gateway) == FULL
    assert verifier.verify(from_new_gateway) == FULL
    with pytest.raises(InvalidPrincipal, match="unknown key"):
        verifier_for("pay", new).verify(from_old_gateway)  # once the old key is dropped


def test_service_keyring_derives_development_keys() -> None:
    ring = service_keyring(DEV_PRINCIPAL_KEYS, "notify")
    ((kid, dev_master),) = parse_keyring(DEV_PRINCIPAL_KEYS)

    assert ring == [(kid, derive_audience_key(dev_master, "notify"))]
    assert service_keyring(DEV_PRINCIPAL_KEYS, "pay") != ring
    token = PrincipalSigner(parse_keyring(DEV_PRINCIPAL_KEYS)).sign("notify", FULL)  # a development gateway
    assert PrincipalVerifier("notify", ring).verify(token) == FULL


def test_service_keyring_takes_real_keys_as_already_derived() -> None:
    new, old = master("2026"), master("2025")
    raw = format_keyring([(kid, derive_audience_key(key, "identity")) for kid, key in (new, old)])

    ring = service_keyring(raw, "identity")

    assert ring == parse_keyring(raw)
    verifier = PrincipalVerifier("identity", ring)
    assert verifier.verify(PrincipalSigner([old]).sign("identity", FULL)) == FULL
    assert verifier.verify(PrincipalSigner([new]).sign("identity", FULL)) == FULL


# FastAPI dependencies ----------------------------------------------------------------------------------------


class KernelPrincipalSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="KPRIN_", extra="ignore")
    component: ClassVar[str] = "kprin"


router = APIRouter()


@router.get("/whoami")
async def whoami(principal: AnyPrincipal) -> dict[str, Any]:
    return {"request_id": principal.request_id, "service_id": principal.service_id, "anonymous": principal.anonymous}


@router.get("/internal/things")
async def internal_things(principal: ServicePrincipal) -> dict[str, Any]:
    return {"service_id": principal.service_id, "scopes": sorted(principal.scopes)}


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(name="service_client")
def service_client_fixture(tmp_path: Path, redis_url: str) -> AppFactory:
    @asynccontextmanager
    async def factory(family: str, principal_keys: str = DEV_PRINCIPAL_KEYS) -> AsyncIterator[httpx.AsyncClient]:
        settings = KernelPrincipalSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/kprin.db",
            redis_url=redis_url,
            principal_keys=SecretStr(principal_keys),
        )
        app = build_app(Component(name="kprin", settings=settings, family=family, routers=[router]))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://kprin") as client:
                yield client

    return factory


DEV_GATEWAY = PrincipalSigner(parse_keyring(DEV_PRINCIPAL_KEYS))


def unauthorised_body(family: str, message: str, request_id: str) -> Any:
    if family == "platform":
        return {"error": "InvalidPrincipal", "message": message, "request_id": request_id}
    if family == "notify":
        return {"status_code": 401, "errors": [{"error": "InvalidPrincipal", "message": message}]}
    if family == "pay":
        return {"code": "InvalidPrincipal", "description": message}
    return {"error": "InvalidPrincipal", "error_description": message}


@pytest.mark.parametrize("family", ["platform", "notify", "pay", "oauth"])
async def test_dependencies_answer_401_in_the_family_format(service_client: AppFactory, family: str) -> None:
    wrong_audience = DEV_GATEWAY.sign("another-service", FULL)
    async with service_client(family) as client:
        missing = await client.get("/whoami")
        garbage = await client.get("/whoami", headers={PRINCIPAL_HEADER: "garbage"})
        misdirected = await client.get("/internal/things", headers={PRINCIPAL_HEADER: wrong_audience})

    for response in (missing, garbage, misdirected):
        assert response.status_code == 401
        assert "detail" not in response.text
    assert missing.json() == unauthorised_body(
        family, "A valid gateway principal token is required", missing.headers["x-request-id"]
    )
    message = {
        "platform": lambda body: body["message"],
        "notify": lambda body: body["errors"][0]["message"],
        "pay": lambda body: body["description"],
        "oauth": lambda body: body["error_description"],
    }[family](garbage.json())
    assert message.startswith("The principal token is not valid")


async def test_any_principal_accepts_anonymous_and_service_callers(service_client: AppFactory) -> None:
    async with service_client("platform") as client:
        anonymous = await client.get("/whoami", headers={PRINCIPAL_HEADER: DEV_GATEWAY.sign("kprin", ANONYMOUS)})
        service = await client.get("/whoami", headers={PRINCIPAL_HEADER: DEV_GATEWAY.sign("kprin", FULL)})

    assert anonymous.status_code == 200
    assert anonymous.json() == {"request_id": "rid-anonymous-1", "service_id": None, "anonymous": True}
    assert service.status_code == 200
    assert service.json() == {"request_id": FULL.request_id, "service_id": FULL.service_id, "anonymous": False}


@pytest.mark.parametrize("family", ["platform", "notify"])
async def test_service_principal_refuses_an_anonymous_token(service_client: AppFactory, family: str) -> None:
    async with service_client(family) as client:
        anonymous = await client.get(
            "/internal/things", headers={PRINCIPAL_HEADER: DEV_GATEWAY.sign("kprin", ANONYMOUS)}
        )
        service = await client.get("/internal/things", headers={PRINCIPAL_HEADER: DEV_GATEWAY.sign("kprin", FULL)})

    assert anonymous.status_code == 401
    assert anonymous.json() == unauthorised_body(
        family, "This endpoint needs an authenticated caller", anonymous.headers["x-request-id"]
    )
    assert service.status_code == 200
    assert service.json() == {"service_id": FULL.service_id, "scopes": sorted(FULL.scopes)}


async def test_app_verifies_with_its_configured_derived_keys(service_client: AppFactory) -> None:
    """Outside development a service is configured with its derived keys, and a token for it from the gateway's
    master verifies; a token minted with the development master no longer does."""
    gateway_master = master("2026")
    raw = format_keyring([("2026", derive_audience_key(gateway_master[1], "kprin"))])
    async with service_client("platform", principal_keys=raw) as client:
        good = await client.get(
            "/whoami", headers={PRINCIPAL_HEADER: PrincipalSigner([gateway_master]).sign("kprin", FULL)}
        )
        dev = await client.get("/whoami", headers={PRINCIPAL_HEADER: DEV_GATEWAY.sign("kprin", FULL)})

    assert good.status_code == 200
    assert dev.status_code == 401
