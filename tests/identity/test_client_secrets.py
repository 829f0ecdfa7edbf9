"""Client secrets (spec §6, §11): a relying party registered with `client_secret_post` or `client_secret_basic` gets
a secret that identity makes on the internal API and keeps only as a keyed hash; `/token` takes it by the client's
one method (401 with `WWW-Authenticate: Basic` for HTTP Basic), a new secret replaces the old in every process, and a
secret is never enough for an identity level. The OpenID conformance client (`client_secret_basic`,
`PermitMissingNonce`) signs in without a nonce."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from gaap.internal import INTERNAL_SCOPE
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.identity.clients.models import Client
from services.identity.clients.registry import ClientRegistry
from services.identity.clients.secret import ClientSecrets
from tests.gateway.conftest import MASTER
from tests.identity.conftest import IdentityRig
from tests.identity.support import ASSERTION_TYPE, Browser, Person, RelyingParty, code_from
from tests.identity.test_clients import put, record
from tests.identity.test_code_flow import jwks, signed_in_code

#: The rules do not depend on the database: run once, on the production one.
pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)

NO_ASSERTION = {"client_assertion_type": None, "client_assertion": None}


def new_secret(
    rig: IdentityRig, service_id: uuid.UUID, client_id: str, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})
) -> httpx.Response:
    """Identity's internal API, called as the console calls it: the gateway acting for the service."""
    principal = Principal(request_id="t", service_id=str(service_id), scopes=scopes)
    token = PrincipalSigner(parse_keyring(MASTER)).sign("identity", principal)
    url = f"{rig.identity_url}/internal/services/{service_id}/clients/{client_id}/secret"
    return httpx.post(url, headers={"X-Gaap-Principal": token})


def secret_client(rig: IdentityRig, method: str, **overrides: Any) -> tuple[RelyingParty, uuid.UUID]:
    """A relying party registered with a client-secret method and no key, on its own service."""
    rp = RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", rig.issuer)
    service = rig.new_service()
    fields = {"TokenAuthMethod": method, "PublicKey": None, **overrides}
    assert rig.push([rp.record(**fields)], service) == {"delivered": 1}
    return rp, service


def generated(rig: IdentityRig, service: uuid.UUID, rp: RelyingParty) -> str:
    answer = new_secret(rig, service, rp.client_id)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"client_id", "token_auth_method", "client_secret"}
    assert body["client_id"] == rp.client_id
    assert len(base64.urlsafe_b64decode(body["client_secret"] + "=")) == 32  # 256 random bits
    return str(body["client_secret"])


def post_token(rig: IdentityRig, form: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(rig.gateway_url + "/token", data=form, auth=auth, timeout=30)


def refused(answer: httpx.Response, status: int, description: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json()["error"] == "invalid_client", answer.text
    if description is not None:
        assert answer.json()["error_description"] == description
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Basic ")
    else:
        assert "www-authenticate" not in answer.headers


def test_client_secret_post_flow(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    rp, service = secret_client(identity_rig, "client_secret_post")
    code = signed_in_code(browser, rp, person)["code"]

    def exchange(**changes: str | None) -> httpx.Response:
        fields: dict[str, str | None] = {**NO_ASSERTION, "client_id": rp.client_id, "client_secret": "unset"}
        form = rp.token_form(code, **{**fields, **changes})
        return post_token(identity_rig, form)

    refused(exchange(), 400, "The client has no client secret yet")
    secret = generated(identity_rig, service, rp)
    refused(exchange(client_secret="not-" + secret), 400, "The client secret is missing or not valid")
    refused(exchange(client_secret=""), 400, "The client secret is missing or not valid")
    refused(exchange(client_id="no-such-client", client_secret=secret), 400)
    # Only the client's own method: an assertion (even one its key signs) or HTTP Basic is refused.
    as_assertion = rp.token_form(code, client_assertion=rp.assertion())
    refused(post_token(identity_rig, as_assertion), 400, "The client is registered to authenticate with "
            "client_secret_post, not private_key_jwt")  # fmt: skip
    basic = post_token(identity_rig, rp.token_form(code, **NO_ASSERTION), auth=(rp.client_id, secret))
    refused(basic, 401, "The client is registered to authenticate with client_secret_post, not client_secret_basic")
    both = exchange(client_secret=secret, client_assertion_type=ASSERTION_TYPE, client_assertion=rp.assertion())
    assert both.status_code == 400 and both.json()["error"] == "invalid_request", both.text

    tokens = exchange(client_secret=secret)
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    claims = rp.verify_id_token(tokens.json()["id_token"], jwks(identity_rig))
    assert claims["aud"] == rp.client_id and claims["vot"] == "Cl.Cm"
    info = httpx.get(
        identity_rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
    reused = exchange(client_secret=secret)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_the_conformance_client_uses_http_basic_without_a_nonce(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    rp, service = secret_client(identity_rig, "client_secret_basic", PermitMissingNonce=True)
    secret = generated(identity_rig, service, rp)
    code = signed_in_code(browser, rp, person, nonce=None)["code"]
    rp.nonce = None  # type: ignore[assignment]
    form = rp.token_form(code, **NO_ASSERTION)

    refused(
        post_token(identity_rig, form, auth=(rp.client_id, "wrong")), 401, "The client secret is missing or not valid"
    )
    refused(post_token(identity_rig, form, auth=("no-such-client", secret)), 401)
    garbled = httpx.post(identity_rig.gateway_url + "/token", data=form, headers={"Authorization": "Basic //79/g=="})
    refused(garbled, 401, "The Authorization header does not hold valid client credentials")
    as_post = post_token(identity_rig, {**form, "client_id": rp.client_id, "client_secret": secret})
    refused(as_post, 400, "The client is registered to authenticate with client_secret_basic, not client_secret_post")
    other_id = post_token(identity_rig, {**form, "client_id": "someone-else"}, auth=(rp.client_id, secret))
    refused(other_id, 401, "client_id does not match the client's credentials")

    tokens = post_token(identity_rig, {**form, "client_id": rp.client_id}, auth=(rp.client_id, secret))
    assert tokens.status_code == 200, tokens.text
    claims = rp.verify_id_token(tokens.json()["id_token"], jwks(identity_rig))
    assert "nonce" not in claims and claims["aud"] == rp.client_id


def test_a_secret_sent_by_a_private_key_jwt_client_is_refused(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    as_post = rp.token_form(code, **NO_ASSERTION, client_id=rp.client_id, client_secret="a-guess")
    expected = "The client is registered to authenticate with private_key_jwt, not client_secret_post"
    refused(post_token(identity_rig, as_post), 400, expected)
    refused(post_token(identity_rig, rp.token_form(code, **NO_ASSERTION), auth=(rp.client_id, "a-guess")), 401)
    nothing = post_token(identity_rig, rp.token_form(code, **NO_ASSERTION, client_id=rp.client_id))
    refused(nothing, 400, "The request has no client authentication")
    assert post_token(identity_rig, rp.token_form(code)).status_code == 200  # its assertion still works


@pytest.mark.asyncio(loop_scope="session")
async def test_a_new_secret_replaces_the_old_in_every_process(identity_rig: IdentityRig) -> None:
    """Another process's registry, following the same Redis channel, drops its copy as soon as identity announces
    the new secret (well within the cache's 5 s lifetime)."""
    rp, service = await asyncio.to_thread(secret_client, identity_rig, "client_secret_post")
    old = await asyncio.to_thread(generated, identity_rig, service, rp)
    pepper = identity_rig.settings.client_secret_pepper.get_secret_value().encode()
    db, redis = identity_rig.db(), Redis.from_url(identity_rig.redis_url)
    other = ClientRegistry(db, redis, secrets=ClientSecrets(pepper))
    following = asyncio.create_task(other.follow())
    try:
        await asyncio.sleep(0.5)  # subscribed
        held = await other.get(rp.client_id)
        assert held is not None and held.check_client_secret(old) and not held.check_client_secret(old + "x")
        new = await asyncio.to_thread(generated, identity_rig, service, rp)
        deadline = time.monotonic() + 3
        while (client := await other.get(rp.client_id)) is not None and client.check_client_secret(old):
            assert time.monotonic() < deadline, "the other process still accepts the old secret"
            await asyncio.sleep(0.05)
        assert client is not None and client.check_client_secret(new)
    finally:
        following.cancel()
        await other.http.aclose()
        await redis.aclose()
        await db.dispose()


def test_registration_and_the_internal_api_refuse_what_cannot_be(identity_rig: IdentityRig) -> None:
    for locs in (["P0", "P2"], ["P0", "P1"]):
        answer = put(identity_rig, [record(TokenAuthMethod="client_secret_post", ClientLoCs=locs)])
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "InvalidClientRecord"
        assert "cannot be combined with P1 or P2" in answer.json()["message"]
    verified = put(identity_rig, [record(TokenAuthMethod="client_secret_basic", IdentityVerificationSupported=True)])
    assert verified.status_code == 422 and "IdentityVerificationSupported" in verified.json()["message"]
    needs_key = put(identity_rig, [record(PublicKey=None)])
    assert needs_key.status_code == 422 and "PublicKey is required" in needs_key.json()["message"]
    bad_key = put(identity_rig, [record(TokenAuthMethod="client_secret_post", PublicKey="not a key")])
    assert bad_key.status_code == 422, bad_key.text  # an optional key is still checked

    rp, service = secret_client(identity_rig, "client_secret_post")
    for answer, status, code in [
        (new_secret(identity_rig, service, "no-such-client"), 404, "NoSuchClient"),
        (new_secret(identity_rig, identity_rig.new_service(), rp.client_id), 404, "NoSuchClient"),  # another's
        (new_secret(identity_rig, service, rp.client_id, frozenset({"send"})), 403, "NotInternal"),
    ]:
        assert answer.status_code == status, answer.text
        assert answer.json()["error"] == code and set(answer.json()) == {"error", "message", "request_id"}
    key_client = RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", identity_rig.issuer)
    key_service = identity_rig.new_service()
    assert identity_rig.push([key_client.record()], key_service) == {"delivered": 1}
    conflict = new_secret(identity_rig, key_service, key_client.client_id)
    assert conflict.status_code == 409 and conflict.json()["error"] == "NoClientSecret", conflict.text


async def _stored_hash(rig: IdentityRig, client_id: str) -> str | None:
    db = rig.db()
    try:
        async with db.read_session() as session:
            query = select(Client.client_secret_hash).where(Client.client_id == client_id)
            return (await session.execute(query)).scalar_one()
    finally:
        await db.dispose()


def test_pushes_never_set_a_secret_and_a_move_to_keys_clears_it(identity_rig: IdentityRig) -> None:
    rp, service = secret_client(identity_rig, "client_secret_post")
    secret = generated(identity_rig, service, rp)
    pepper = identity_rig.settings.client_secret_pepper.get_secret_value().encode()
    stored = asyncio.run(_stored_hash(identity_rig, rp.client_id))
    assert stored == ClientSecrets(pepper).digest(secret) and secret not in str(stored)
    # A One Login import's ClientSecret (a hash under One Login's key) is ignored; so is the method changing
    # between the two secret methods: the secret stays.
    imported = rp.record(TokenAuthMethod="client_secret_basic", PublicKey=None, ClientSecret="0" * 64)
    assert identity_rig.push([imported], service) == {"delivered": 1}
    assert asyncio.run(_stored_hash(identity_rig, rp.client_id)) == stored
    assert identity_rig.push([rp.record()], service) == {"delivered": 1}  # private_key_jwt, with its key
    assert asyncio.run(_stored_hash(identity_rig, rp.client_id)) is None
    assert identity_rig.push([imported], service) == {"delivered": 1}
    assert asyncio.run(_stored_hash(identity_rig, rp.client_id)) is None  # back to a secret: a new one is needed


async def _allow_identity_levels(rig: IdentityRig, client_id: str) -> None:
    """What registration refuses, written straight into the row: a secret client with P2."""
    db = rig.db()
    try:
        async with db.write_session() as session:
            values = {"levels_of_confidence": ["P0", "P2"], "identity_verification_supported": True}
            await session.execute(update(Client).where(Client.client_id == client_id).values(**values))
    finally:
        await db.dispose()


def test_authorize_never_gives_an_identity_level_to_a_secret_client(identity_rig: IdentityRig) -> None:
    """Even a record that slipped past registration: `/authorize` checks the method itself (spec §5.2 rule 6). The
    client has not been read since its push, so identity loads the changed row."""
    rp, _service = secret_client(identity_rig, "client_secret_post")
    asyncio.run(_allow_identity_levels(identity_rig, rp.client_id))
    answer = httpx.get(identity_rig.gateway_url + "/authorize", params=rp.authorize_params(vtr='["Cl.Cm.P2"]'))
    assert answer.status_code == 302, answer.text[:300]
    params = code_from(answer.headers["location"])
    assert (params["error"], params["error_description"]) == ("invalid_request", "Request vtr is not permitted")


def test_discovery_lists_the_three_methods(identity_rig: IdentityRig) -> None:
    document = httpx.get(identity_rig.gateway_url + "/.well-known/openid-configuration").json()
    assert document["token_endpoint_auth_methods_supported"] == [
        "private_key_jwt",
        "client_secret_post",
        "client_secret_basic",
    ]
