"""Client records pushed by the gateway (spec §11): validated by identity, errors shown to the console as the
push's refusal; JWKS-URL clients fetched and refetched on an unknown `kid` (spec §6, R2)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from tests.gateway.conftest import MASTER
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, public_jwk
from tests.identity.test_code_flow import exchange, signed_in_code
from tests.support import serve_in_thread


def put(rig: IdentityRig, clients: list[dict[str, Any]], *, scopes: frozenset[str] | None = None) -> httpx.Response:
    """Straight to identity's internal API, signed as the gateway signs its pushes."""
    service_id = uuid.uuid4()
    principal = Principal(request_id="t", service_id=str(service_id), scopes=scopes or frozenset({"gaap:internal"}))
    token = PrincipalSigner(parse_keyring(MASTER)).sign("identity", principal)
    document = {"version": 1, "name": "RP", "active": True, "settings": {"identity": {"clients": clients}}}
    document["settings"] = document["settings"]["identity"]  # type: ignore[index]
    return httpx.put(
        f"{rig.identity_url}/internal/services/{service_id}", json=document, headers={"X-Gaap-Principal": token}
    )


def record(rp: RelyingParty | None = None, **overrides: Any) -> dict[str, Any]:
    rp = rp or RelyingParty(f"rp-{uuid.uuid4().hex[:10]}", "https://unused.example/")
    return rp.record(**overrides)


def test_a_valid_client_is_stored(identity_rig: IdentityRig) -> None:
    answer = put(identity_rig, [record()])
    assert answer.status_code == 200, answer.text
    client = answer.json()["clients"][0]
    assert client["sector"] == "rp.example.test"
    assert client["subject_type"] == "pairwise"


def _pem(key: Any) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PublicKey": {**public_jwk(ec.generate_private_key(ec.SECP256R1())), "d": "secret"}}, "private key"),
        (
            {
                "PublicKey": ec.generate_private_key(ec.SECP256R1())
                .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
                .decode()
            },
            "private key",
        ),
        ({"PublicKey": _pem(rsa.generate_private_key(65537, 1024).public_key())}, "2048 bits"),
        ({"PublicKey": _pem(ec.generate_private_key(ec.SECP384R1()).public_key())}, "P-256"),
        ({"PublicKey": None}, "PublicKey is required"),
        ({"RedirectUrls": ["http://rp.example.test/cb"]}, "https"),
        ({"RedirectUrls": ["https://rp.example.test/cb#x"]}, "fragment"),
        ({"RedirectUrls": ["https://a.example.test/cb", "https://b.example.test/cb"]}, "SectorIdentifierUri"),
        ({"BackChannelLogoutUri": "https://10.0.0.1/logout"}, "public address"),
        ({"PublicKeySource": "JWKS", "JwksUrl": "https://192.168.1.1/jwks"}, "public address"),
        ({"PublicKeySource": "JWKS"}, "JwksUrl is required"),
        ({"DefaultVtr": '["Cl.P2"]'}, "DefaultVtr"),
        ({"IdTokenSigningAlgorithm": "HS256"}, "IdTokenSigningAlgorithm must be ES256 or RS256, not 'HS256'"),
        ({"IdTokenSigningAlgorithm": "none"}, "IdTokenSigningAlgorithm must be ES256 or RS256, not 'none'"),
        ({"IdTokenSigningAlgorithm": "PS256"}, "IdTokenSigningAlgorithm must be ES256 or RS256"),
    ],
)
def test_records_identity_cannot_accept_are_refused(
    identity_rig: IdentityRig, overrides: dict[str, Any], message: str
) -> None:
    answer = put(identity_rig, [record(**overrides)])
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "InvalidClientRecord"
    assert message in body["message"]
    assert set(body) == {"error", "message", "request_id"}


def test_pem_keys_and_several_hosts_with_a_sector(identity_rig: IdentityRig) -> None:
    rsa_pem = _pem(rsa.generate_private_key(65537, 2048).public_key())
    answer = put(
        identity_rig,
        [
            record(
                PublicKey=rsa_pem,
                RedirectUrls=["https://a.example.test/cb", "https://b.example.test/cb"],
                SectorIdentifierUri="https://sector.example.test/uris.json",
            )
        ],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["clients"][0]["sector"] == "sector.example.test"


def test_only_the_gateway_may_push(identity_rig: IdentityRig) -> None:
    assert put(identity_rig, [record()], scopes=frozenset({"send"})).status_code == 403


def test_a_client_id_belongs_to_one_service(identity_rig: IdentityRig) -> None:
    shared = record()
    assert put(identity_rig, [shared]).status_code == 200
    assert put(identity_rig, [shared]).status_code == 422


def test_pushes_through_the_gateway_replace_and_delete(identity_rig: IdentityRig) -> None:
    service = identity_rig.new_service()
    a, b = record(), record()
    assert identity_rig.push([a, b], service) == {"delivered": 1}
    assert identity_rig.push([b], service) == {"delivered": 1}
    refused = identity_rig.push([record(RedirectUrls=["ftp://x"])], service)
    assert refused == {"rejected": 1}


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """An RP's JWKS endpoint whose keys a test can change, counting fetches."""
    state: dict[str, Any] = {"keys": [], "fetches": 0}

    async def serve(request: Request) -> JSONResponse:
        state["fetches"] += 1
        return JSONResponse({"keys": state["keys"]}, headers={"Cache-Control": "max-age=600"})

    with serve_in_thread(Starlette(routes=[Route("/jwks.json", serve)])) as url:
        yield url + "/jwks.json", state


def test_jwks_url_clients_and_key_rotation_at_the_rp(
    identity_rig: IdentityRig,
    person: Person,
    browser: Browser,
    jwks_server: tuple[str, dict[str, Any]],
) -> None:
    url, state = jwks_server
    rp = RelyingParty(f"rp-{uuid.uuid4().hex[:10]}", identity_rig.issuer, kid="one")
    state["keys"] = [public_jwk(rp.key, "one")]
    identity_rig.register(rp, PublicKeySource="JWKS", PublicKey=None, JwksUrl=url)
    signed = httpx.get(identity_rig.gateway_url + rp.jar_url(rp.request_object()))  # request objects too (§5.3)
    assert signed.status_code == 303, signed.text[:300]
    assert exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).status_code == 200
    fetched = state["fetches"]
    registry = identity_rig.app.state.identity.clients
    registry.clock = lambda: time.monotonic() + 61  # past the once-a-minute refetch limit
    # The RP rotates to a new key without telling us: an unknown kid is fetched again.
    rp.key, rp.kid = ec.generate_private_key(ec.SECP256R1()), "two"
    state["keys"] = [public_jwk(rp.key, "two")]
    answer = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"])
    assert answer.status_code == 200, answer.text
    assert state["fetches"] == fetched + 1
    registry.clock = time.monotonic
