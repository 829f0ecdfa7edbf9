"""Signing keys (spec §8): every set has an active key and a published standby; rotation promotes a key relying
parties already hold, so a token signed before, during or after a rotation always verifies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from gaap.db.base import utcnow
from services.identity.keys import service as keys
from services.identity.keys.models import ACTIVE, STANDBY
from services.identity.keys.ring import KeyRing, KeySnapshot
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty
from tests.identity.test_code_flow import exchange, signed_in_code


def jwks(rig: IdentityRig) -> dict[str, object]:
    answer = httpx.get(rig.gateway_url + "/.well-known/jwks.json")
    assert answer.headers["cache-control"] == "public, max-age=86400"
    return dict(answer.json())


def rfc7638_kid(jwk: dict[str, Any]) -> str:
    """The hex SHA-256 thumbprint of a public JWK (RFC 7638 §3: its required members, sorted, no whitespace)."""
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_the_published_set(identity_rig: IdentityRig) -> None:
    """The EC and RSA sets side by side, each with at least its active key and standby; never the core identity
    set (published in the DID document) and never private material."""
    published = jwks(identity_rig)["keys"]
    assert isinstance(published, list)
    by_alg: dict[str, list[dict[str, Any]]] = {}
    for key in published:
        by_alg.setdefault(key["alg"], []).append(key)
        assert key["kid"] == rfc7638_kid(key) and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert set(by_alg) == {"ES256", "RS256"}
    assert len(by_alg["ES256"]) >= 2 and len(by_alg["RS256"]) >= 2
    assert all(key["kty"] == "EC" and key["crv"] == "P-256" for key in by_alg["ES256"])
    for key in by_alg["RS256"]:
        assert key["kty"] == "RSA" and key["e"] == "AQAB"
        modulus = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
        assert int.from_bytes(modulus, "big").bit_length() == 3072
    core = asyncio.run(_published_kids(identity_rig, "core"))
    assert core and not core & {key["kid"] for key in published}


def test_discovery_document(identity_rig: IdentityRig) -> None:
    from authlib.oidc.discovery import OpenIDProviderMetadata

    answer = httpx.get(identity_rig.gateway_url + "/.well-known/openid-configuration")
    assert answer.headers["cache-control"] == "public, max-age=86400"
    document = answer.json()
    assert document["issuer"] == identity_rig.issuer
    assert document["token_endpoint"] == identity_rig.issuer + "token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "none" not in document["token_endpoint_auth_signing_alg_values_supported"]
    assert "HS256" not in document["token_endpoint_auth_signing_alg_values_supported"]
    assert document["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    metadata = OpenIDProviderMetadata(document)
    for name in ("issuer", "authorization_endpoint", "jwks_uri", "response_types_supported", "subject_types_supported"):
        getattr(metadata, f"validate_{name}")()
    trustmark = httpx.get(identity_rig.gateway_url + "/trustmark").json()
    assert trustmark == {"idp": identity_rig.issuer, "trustmark_provider": identity_rig.issuer,
                         "C": ["Cl", "Cl.Cm"], "P": ["P0", "P1", "P2"], "sandbox": True}  # fmt: skip


@pytest.mark.asyncio(loop_scope="session")
async def test_rotation_never_breaks_a_relying_party(identity_rig: IdentityRig) -> None:
    db = identity_rig.db()
    settings = identity_rig.settings
    try:
        async with db.write_session() as session:
            before = KeySnapshot.of(await keys.published(session))
        old, old_rsa = before.signer("oidc"), before.signer("oidc-rsa")
        token = jwt.encode({"sub": "x"}, old.private.raw_value, algorithm="ES256", headers={"kid": old.kid})
        rsa_token = jwt.encode({"sub": "y"}, old_rsa.private.raw_value, algorithm="RS256", headers={"kid": old_rsa.kid})
        # Nothing is due yet.
        async with db.write_session() as session:
            assert await keys.rotate_due(session, settings) == []
        # Six months on, with the standby published for 48 hours: it is promoted, the old key retired.
        later = utcnow() + timedelta(days=settings.key_rotation_days, hours=1)
        async with db.write_session() as session:
            done = await keys.rotate_due(session, settings, later)
            after = KeySnapshot.of(await keys.published(session))
        assert [d.split(":")[0] for d in done] == ["promoted"] * 3  # the OIDC EC, OIDC RSA and core identity sets
        for key_set, previous in (("oidc", old), ("oidc-rsa", old_rsa)):
            new = after.signer(key_set)
            assert new.kid != previous.kid and new.kid in {k["kid"] for k in before.public[key_set]}  # RPs held it
            assert previous.kid in {k["kid"] for k in after.public[key_set]}  # still published: old tokens verify
        published = {k["kid"]: k for k in after.jwks("oidc", "oidc-rsa")["keys"]}
        assert jwt.decode(token, jwt.PyJWK(published[old.kid]).key, algorithms=["ES256"]) == {"sub": "x"}
        assert jwt.decode(rsa_token, jwt.PyJWK(published[old_rsa.kid]).key, algorithms=["RS256"]) == {"sub": "y"}
        assert {k["kid"] for k in after.public["oidc-rsa"]} - {
            k["kid"] for k in before.public["oidc-rsa"]
        }  # next standby
        states = set(await _all(db))
        assert {ACTIVE, STANDBY} <= states
        # After the retire period the old key is removed.
        async with db.write_session() as session:
            done = await keys.rotate_due(session, settings, later + timedelta(hours=settings.key_retire_h + 1))
        assert f"removed:{old.kid}" in done and f"removed:{old_rsa.kid}" in done
    finally:
        await db.dispose()
    identity_rig.app.state.identity.keys.expire()  # the served process signs with the promoted keys at once


@pytest.mark.asyncio(loop_scope="session")
async def test_a_refresh_parses_no_private_key_again(identity_rig: IdentityRig) -> None:
    """Parsing a 3072-bit private key takes a noticeable fraction of a second: a refresh keeps the parsed keys."""
    db = identity_rig.db()
    try:
        ring = KeyRing(db, refresh_seconds=0)
        first, second = await ring.current(), await ring.current()
        assert second is not first  # read again from the database...
        for key_set in ("oidc", "oidc-rsa", "core"):
            assert second.signer(key_set) is first.signer(key_set)  # ...with the private keys already parsed
        assert first.signer("oidc-rsa").alg == "RS256" and first.signer("oidc-rsa").private.raw_value.key_size == 3072
    finally:
        await db.dispose()


@pytest.mark.asyncio(loop_scope="session")
async def test_emergency_removal_promotes_the_standby(identity_rig: IdentityRig) -> None:
    db = identity_rig.db()
    try:
        async with db.write_session() as session:
            snapshot = KeySnapshot.of(await keys.published(session))
            compromised = snapshot.signer("oidc").kid
            await keys.remove(session, compromised)
            after = KeySnapshot.of(await keys.published(session))
        assert after.signer("oidc").kid != compromised
        assert compromised not in {k["kid"] for k in after.public["oidc"]}
        assert len(after.public["oidc"]) >= 2  # a new standby is published at once
    finally:
        await db.dispose()
    identity_rig.app.state.identity.keys.expire()  # the served process signs with the new key at once


def test_promoting_the_rsa_standby_keeps_rs256_tokens_verifying(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    """The operator's `promote` on the RSA set: an RS256 client's next ID token is signed by the promoted key, which
    relying parties already had, and the token signed before still verifies against the JWKS (its key retired)."""
    rp = RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", identity_rig.issuer, id_token_alg="RS256")
    identity_rig.register(rp)
    before = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).json()["id_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    standby = asyncio.run(_standby_of(identity_rig, "oidc-rsa"))
    assert standby in {k["kid"] for k in jwks(identity_rig)["keys"]}  # type: ignore[union-attr]
    asyncio.run(_promote(identity_rig, standby))
    identity_rig.app.state.identity.keys.expire()  # as an operator's command in the serving process would
    after = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).json()["id_token"]
    assert jwt.get_unverified_header(after)["kid"] == standby != old_kid
    published = jwks(identity_rig)
    assert old_kid in {k["kid"] for k in published["keys"]}  # type: ignore[union-attr]
    assert rp.verify_id_token(after, published)["aud"] == rp.client_id
    retired = jwt.PyJWK(next(k for k in published["keys"] if k["kid"] == old_kid))  # type: ignore[union-attr]
    claims = jwt.decode(before, retired.key, algorithms=["RS256"], audience=rp.client_id, issuer=identity_rig.issuer)
    assert claims["sub"] == rp.verify_id_token(after, published)["sub"]
    assert len(asyncio.run(_published_kids(identity_rig, "oidc-rsa"))) >= 3  # retired, active and a new standby


async def _standby_of(rig: IdentityRig, key_set: str) -> str:
    db = rig.db()
    try:
        async with db.read_session() as session:
            found = [k for k in await keys.published(session) if k.key_set == key_set and k.state == STANDBY]
            return found[0].kid
    finally:
        await db.dispose()


async def _promote(rig: IdentityRig, kid: str) -> None:
    db = rig.db()
    try:
        async with db.write_session() as session:
            await keys.promote(session, kid)
    finally:
        await db.dispose()


async def _published_kids(rig: IdentityRig, key_set: str) -> set[str]:
    db = rig.db()
    try:
        async with db.read_session() as session:
            return {key.kid for key in await keys.published(session) if key.key_set == key_set}
    finally:
        await db.dispose()


async def _all(db):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from services.identity.keys.models import SigningKey

    async with db.read_session() as session:
        return [key.state for key in (await session.execute(select(SigningKey))).scalars()]
