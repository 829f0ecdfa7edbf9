"""Signing keys (spec §8): every set has an active key and a published standby; rotation promotes a key relying
parties already hold, so a token signed before, during or after a rotation always verifies."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest

from gaap.db.base import utcnow
from services.identity.keys import service as keys
from services.identity.keys.models import ACTIVE, STANDBY
from services.identity.keys.ring import KeySnapshot
from tests.identity.conftest import IdentityRig


def jwks(rig: IdentityRig) -> dict[str, object]:
    answer = httpx.get(rig.gateway_url + "/.well-known/jwks.json")
    assert answer.headers["cache-control"] == "public, max-age=86400"
    return dict(answer.json())


def test_the_published_set(identity_rig: IdentityRig) -> None:
    published = jwks(identity_rig)["keys"]
    assert isinstance(published, list) and len(published) >= 2
    for key in published:
        assert len(key["kid"]) == 64
        assert key["use"] == "sig" and key["alg"] == "ES256" and key["crv"] == "P-256"
        assert "d" not in key


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
        old = before.signer("oidc")
        token = jwt.encode({"sub": "x"}, old.private.raw_value, algorithm="ES256", headers={"kid": old.kid})
        # Nothing is due yet.
        async with db.write_session() as session:
            assert await keys.rotate_due(session, settings) == []
        # Six months on, with the standby published for 48 hours: it is promoted, the old key retired.
        later = utcnow() + timedelta(days=settings.key_rotation_days, hours=1)
        async with db.write_session() as session:
            done = await keys.rotate_due(session, settings, later)
            after = KeySnapshot.of(await keys.published(session))
        assert [d.split(":")[0] for d in done] == ["promoted", "promoted"]  # the OIDC and core identity sets
        new = after.signer("oidc")
        assert new.kid != old.kid and new.kid in {k["kid"] for k in before.public["oidc"]}  # a key RPs held
        assert old.kid in {k["kid"] for k in after.public["oidc"]}  # still published, so old tokens verify
        published = {k["kid"]: k for k in after.public["oidc"]}
        assert jwt.decode(token, jwt.PyJWK(published[old.kid]).key, algorithms=["ES256"]) == {"sub": "x"}
        states = set(await _all(db))
        assert {ACTIVE, STANDBY} <= states
        # After the retire period the old key is removed.
        async with db.write_session() as session:
            done = await keys.rotate_due(session, settings, later + timedelta(hours=settings.key_retire_h + 1))
        assert f"removed:{old.kid}" in done
    finally:
        await db.dispose()
    identity_rig.app.state.identity.keys.expire()  # the served process signs with the promoted keys at once


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


async def _all(db):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from services.identity.keys.models import SigningKey

    async with db.read_session() as session:
        return [key.state for key in (await session.execute(select(SigningKey))).scalars()]
