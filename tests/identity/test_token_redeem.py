"""`/token`'s writes as one Redis script (`GrantStore.redeem`): a token costs two round trips, and every rule still
holds under concurrency: a `jti` is single-use and a replay writes nothing, a code is single-use and a reused code
revokes every token it produced (spec §6), and of concurrent redemptions of one code exactly one wins. Also the
relying party's parsed key set, kept with its cached record and dropped when the record changes."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from redis.asyncio import Redis
from sqlalchemy import func, select, update

from gaap.cache import announce
from services.identity.clients.models import Client
from services.identity.clients.registry import CHANNEL
from services.identity.events import SecurityEvent
from services.identity.oidc.store import GrantStore, Redeemed, Redemption
from services.identity.sessions.store import SessionStore
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty
from tests.identity.test_code_flow import exchange, signed_in_code


async def _reuse_events(rig: IdentityRig, client_id: str) -> int:
    db = rig.db()
    try:
        async with db.read_session() as session:
            query = select(func.count()).where(
                SecurityEvent.type == "authorization_code_reused", SecurityEvent.client_id == client_id
            )
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


def test_concurrent_redemptions_of_one_code_give_exactly_one_winner(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    forms = [rp.token_form(code) for _ in range(8)]  # each with its own client assertion

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=identity_rig.gateway_url, timeout=30) as client:
            return list(await asyncio.gather(*(client.post("/token", data=form) for form in forms)))

    answers = asyncio.run(send_all())
    won = [answer for answer in answers if answer.status_code == 200]
    assert len(won) == 1, [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code != 200:
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "invalid_grant", answer.text
    # Every loser is a reuse: the token the winner was given is revoked, and each reuse is a security event.
    access = won[0].json()["access_token"]
    info = httpx.get(identity_rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 401
    assert asyncio.run(_reuse_events(identity_rig, rp.client_id)) == len(forms) - 1


def test_a_replayed_assertion_leaves_the_code_unclaimed(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    assertion = rp.assertion()
    first = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"], client_assertion=assertion)
    assert first.status_code == 200, first.text
    code = signed_in_code(browser, rp, person)["code"]
    replayed = exchange(identity_rig, rp, code, client_assertion=assertion)
    assert replayed.status_code in (400, 401)
    assert replayed.json() == {
        "error": "invalid_client",
        "error_description": "The client assertion has been used before",
        "error_uri": identity_rig.issuer + "identity/documentation#invalid_client",
    }
    # The replay wrote nothing: the code was not claimed, so it still redeems, and no token was revoked.
    fresh = exchange(identity_rig, rp, code)
    assert fresh.status_code == 200, fresh.text
    for answer in (first, fresh):
        access = answer.json()["access_token"]
        info = httpx.get(identity_rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {access}"})
        assert info.status_code == 200, info.text
    assert asyncio.run(_reuse_events(identity_rig, rp.client_id)) == 0


def test_a_changed_key_is_used_at_once(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    """The parsed key set lives with the cached client record, so a push that changes the key replaces it."""
    rp = RelyingParty(f"rp-{secrets.token_hex(6)}", identity_rig.issuer)
    service = identity_rig.new_service()
    assert identity_rig.push([rp.record()], service) == {"delivered": 1}
    assert exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).status_code == 200
    old_key = rp.key
    rp.key = ec.generate_private_key(ec.SECP256R1())
    assert identity_rig.push([rp.record()], service) == {"delivered": 1}
    code = signed_in_code(browser, rp, person)["code"]
    stale = exchange(identity_rig, rp, code, client_assertion=rp.assertion(key=old_key))
    assert stale.status_code in (400, 401)
    assert stale.json()["error"] == "invalid_client", stale.text
    assert exchange(identity_rig, rp, code).status_code == 200


async def _spoil_keys(rig: IdentityRig, client_id: str) -> None:
    """A stored key set that no longer parses (a record older than today's validation), announced as changed."""
    db = rig.db()
    redis = Redis.from_url(rig.redis_url)
    try:
        async with db.write_session() as session:
            bad = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "rp-key-1"}]}
            await session.execute(update(Client).where(Client.client_id == client_id).values(public_jwks=bad))
        await announce(redis, CHANNEL, client_id.encode())
    finally:
        await redis.aclose()
        await db.dispose()


def test_a_stored_key_set_that_does_not_parse_refuses_assertions(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    asyncio.run(_spoil_keys(identity_rig, rp.client_id))
    deadline = time.monotonic() + 10
    while True:  # the announcement reaches identity's cache within its follower's poll
        answer = exchange(identity_rig, rp, code)
        if answer.status_code != 200 or time.monotonic() > deadline:
            break
        code = signed_in_code(browser, rp, person)["code"]
    assert answer.status_code in (400, 401), answer.text
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "The client assertion signature could not be verified",
        "error_uri": identity_rig.issuer + "identity/documentation#invalid_client",
    }


def _redemption(sessions: SessionStore, code: str, jti: str, token: str) -> Redemption:
    return Redemption(
        code=code,
        client_id="client-a",
        jti=jti,
        jti_ttl=60,
        access_token=token,
        token_data={"sub": "someone", "code": code},
        token_ttl=60,
        session=sessions.record_for(f"sid-{code}", f"user-{code}"),
    )


async def test_redeem_writes_everything_or_nothing(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    grants = GrantStore(redis, used_code_ttl=600)
    sessions = SessionStore(redis, idle_ttl=60, max_ttl=600, secure=False)
    data: dict[str, Any] = {"user_id": "u"}
    try:
        code = secrets.token_urlsafe(32)
        await grants.save_code(code, data, 60)
        assert await grants.read_code(code) == (data, False)
        jti = secrets.token_hex(8)
        assert await grants.redeem(_redemption(sessions, code, jti, "token-1-" + code)) is Redeemed.ISSUED
        assert await grants.read_code(code) == (None, True)
        assert await grants.read_token("token-1-" + code) == {"sub": "someone", "code": code}
        assert await sessions.take_clients(f"sid-{code}") == ["client-a"]
        assert await redis.smembers(sessions.record_for(f"sid-{code}", f"user-{code}").user_sids_key) == {
            f"sid-{code}".encode()
        }
        assert 0 < await redis.ttl(sessions.record_for("x", f"user-{code}").user_sids_key) <= 600

        # The same jti on another code: refused, and that code is left as it was.
        other = secrets.token_urlsafe(32)
        await grants.save_code(other, data, 60)
        replay = _redemption(sessions, other, jti, "token-2-" + other)
        assert await grants.redeem(replay) is Redeemed.REPLAYED_ASSERTION
        assert await grants.read_code(other) == (data, False)
        assert await grants.read_token("token-2-" + other) is None
        assert await sessions.take_clients(f"sid-{other}") == []

        # The first code again, with a fresh jti: taken, nothing stored.
        again = _redemption(sessions, code, secrets.token_hex(8), "token-3-" + code)
        assert await grants.redeem(again) is Redeemed.CODE_TAKEN
        assert await grants.read_token("token-3-" + code) is None
        assert await grants.revoke_from_code(code) == 1
        assert await grants.read_token("token-1-" + code) is None

        # A code that expired after it was read is not a reuse: no "used" marker appears.
        gone = secrets.token_urlsafe(32)
        await grants.save_code(gone, data, 60)
        await redis.delete(grants._code(gone))
        expired = _redemption(sessions, gone, secrets.token_hex(8), "token-4-" + gone)
        assert await grants.redeem(expired) is Redeemed.CODE_EXPIRED
        assert await grants.read_code(gone) == (None, False)
    finally:
        await redis.aclose()


async def test_concurrent_redeems_store_one_token(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(4)]
    sessions = SessionStore(clients[0], idle_ttl=60, max_ttl=600, secure=False)
    try:
        stores = [GrantStore(client, used_code_ttl=600) for client in clients]
        code = secrets.token_urlsafe(32)
        await stores[0].save_code(code, {"user_id": "u"}, 60)
        attempts = [
            stores[i % len(stores)].redeem(_redemption(sessions, code, secrets.token_hex(8), f"token-{i}-{code}"))
            for i in range(40)
        ]
        outcomes = await asyncio.gather(*attempts)
        assert outcomes.count(Redeemed.ISSUED) == 1
        assert outcomes.count(Redeemed.CODE_TAKEN) == 39
        stored = [i for i in range(40) if await stores[0].read_token(f"token-{i}-{code}") is not None]
        assert stored == [outcomes.index(Redeemed.ISSUED)]
    finally:
        for client in clients:
            await client.aclose()
