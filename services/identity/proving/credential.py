"""The stored identity and what relying parties get from it (spec §7.1, §7.2, §10.6, §4): the identity record, the
core identity JWT signed with the core key set, the DID document that publishes that key set, and the UserInfo
identity claims.

No core identity JWT is stored: each UserInfo call signs a fresh one from the record, so a key rotation or a
deleted record takes effect at once.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.identity.deps import Provider
from services.identity.keys.models import CORE
from services.identity.keys.ring import KeySnapshot
from services.identity.oidc.authorize import VOCAB
from services.identity.proving.models import IdentityRecord

CORE_IDENTITY = VOCAB + "coreIdentityJWT"
RETURN_CODE = VOCAB + "returnCode"
#: The stored details each vocabulary claim is read from (spec §7.2).
DETAIL_CLAIMS = {VOCAB + "address": "address", VOCAB + "passport": "passport", VOCAB + "drivingPermit": "drivingPermit"}
CORE_IDENTITY_TTL = 1800


def did_of(core_issuer: str) -> str:
    """`did:web:<host>`, the port percent-encoded (spec §4)."""
    return "did:web:" + urlsplit(core_issuer).netloc.replace(":", "%3A")


def did_document(core_issuer: str, keys: KeySnapshot) -> dict[str, Any]:
    """Spec §4: every published core identity key (standby, active, retired) as an `assertionMethod`."""
    did = did_of(core_issuer)
    methods = []
    for jwk in keys.jwks(CORE)["keys"]:
        public = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}
        methods.append({"type": "JsonWebKey", "id": f"{did}#{jwk['kid']}", "controller": did,
                        "publicKeyJwk": {**public, "alg": "ES256"}})  # fmt: skip
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
        "id": did,
        "assertionMethod": methods,
    }


async def reusable_level(session: AsyncSession, user_id: str, reuse_days: int) -> int:
    """The level of the user's identity if it is young enough to reuse without new checks (spec §10.6), else 0."""
    record = await session.get(IdentityRecord, uuid.UUID(user_id))
    if record is None or utcnow() - record.verified_at > timedelta(days=reuse_days):
        return 0
    return record.vot


async def store(session: AsyncSession, user_id: str, vot: int, profile: str, details: dict[str, Any]) -> None:
    """Replace the user's identity with the one just proven."""
    record = await session.get(IdentityRecord, uuid.UUID(user_id))
    if record is None:
        record = IdentityRecord(user_id=uuid.UUID(user_id))
        session.add(record)
    record.vot, record.profile, record.details, record.verified_at = vot, profile, json.dumps(details), utcnow()


def core_identity_jwt(
    keys: KeySnapshot, core_issuer: str, vtm: str, sub: str, client_id: str, vot: int, details: dict[str, Any]
) -> str:
    """Spec §7.1: ES256, `kid` naming the DID key, `exp` = `iat` + 1800, `vot` the level asked for and met."""
    signer = keys.signer(CORE)
    now = int(time.time())
    claims = {
        "sub": sub, "iss": core_issuer, "aud": client_id, "nbf": now, "iat": now, "exp": now + CORE_IDENTITY_TTL,
        "vot": f"P{vot}", "vtm": vtm,
        "vc": {"type": ["VerifiableCredential", "VerifiableIdentityCredential"],
               "credentialSubject": {"name": details["name"], "birthDate": details["birthDate"]}},
    }  # fmt: skip
    header = {"alg": "ES256", "typ": "JWT", "kid": f"{did_of(core_issuer)}#{signer.kid}"}
    return jwt.encode(header, claims, signer.private, ["ES256"])


async def identity_claims(op: Provider, session: AsyncSession, token: dict[str, Any]) -> dict[str, Any]:
    """Spec §7: a vocabulary claim only if requested, allowed to the client, asked at P ≥ 1 and met by the record.
    A failed journey's token carries only its return code (spec §7.2)."""
    if token.get("return_code"):
        return {RETURN_CODE: [{"code": token["return_code"]}]}
    level = int(token.get("identity") or 0)
    client = await op.clients.get(token["client_id"])
    record = await session.get(IdentityRecord, uuid.UUID(token["user_id"])) if level else None
    if client is None or record is None or record.vot < level:
        return {}
    details = json.loads(record.details)
    claims: dict[str, Any] = {}
    for name in (token.get("claims") or {}).get("userinfo") or {}:
        if name not in client.claims:
            continue
        if name == CORE_IDENTITY:
            claims[name] = core_identity_jwt(
                await op.keys.current(), op.settings.core_identity_issuer_url, op.issuer + "trustmark",
                token["sub"], client.client_id, level, details,
            )  # fmt: skip
        elif name in DETAIL_CLAIMS and details.get(DETAIL_CLAIMS[name]):
            claims[name] = details[DETAIL_CLAIMS[name]]
    return claims
