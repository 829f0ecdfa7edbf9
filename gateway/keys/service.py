"""Creating and revoking keys. The full key is returned once, at creation, and never stored or logged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.crypto import SecretBox, keyed_hash
from gaap.db.base import utcnow
from gaap.errors import BadRequest, Conflict, NotFound
from gateway.audit import service as audit
from gateway.keys import formats
from gateway.keys import repository as repo
from gateway.keys.models import AdminToken, ApiKey
from gateway.settings import GatewaySettings
from gateway.tenants.service import require_service

NOTIFY_KEY_TYPES = ("normal", "team", "test")
PAY_KEY_TYPES = ("live", "test")
#: Extra scopes a key may carry beyond its API (notify spec §18.1).
OPTIONAL_SCOPES = {"notify": ("manage_templates",), "pay": ()}


class KeyNotFound(NotFound):
    code = "KeyNotFound"
    message = "No such API key"


@dataclass(frozen=True)
class KeyMaterial:
    """The secrets key handling needs, built once from settings."""

    box: SecretBox
    pepper: bytes
    checksum_secret: bytes

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> KeyMaterial:
        return cls(
            box=SecretBox(settings.key_encryption_keys.get_secret_value(), associated=b"gaap-notify-key"),
            pepper=settings.key_hash_pepper.get_secret_value().encode(),
            checksum_secret=settings.pay_key_checksum_secret.get_secret_value().encode(),
        )

    def hash(self, secret: str) -> str:
        return keyed_hash(self.pepper, secret)


def _scopes(api: str, scopes: list[str] | None) -> list[str]:
    extra = sorted(set(scopes or ()) - {api})
    unknown = [s for s in extra if s not in OPTIONAL_SCOPES[api]]
    if unknown:
        raise BadRequest(f"Unknown scope(s) for a {api} key: {', '.join(unknown)}", code="InvalidScope")
    return [api, *extra]


async def create_key(
    session: AsyncSession,
    material: KeyMaterial,
    *,
    service_id: uuid.UUID,
    api: str,
    name: str,
    key_type: str,
    actor: str,
    scopes: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full key, which is never available again."""
    service = await require_service(session, service_id)
    if service.archived_at is not None:
        raise Conflict("The service is archived", code="ServiceArchived")
    name = " ".join(name.split())
    if not name or len(name) > 255:
        raise BadRequest("A key needs a name of 1 to 255 characters", code="InvalidName")
    if api == "notify":
        if key_type not in NOTIFY_KEY_TYPES:
            raise BadRequest("A Notify key type is normal, team or test", code="InvalidKeyType")
        if key_type == "normal" and service.restricted:
            raise Conflict("A service in trial mode can only create team and test keys", code="TrialMode")
    elif api == "pay":
        if key_type not in PAY_KEY_TYPES:
            raise BadRequest("A Pay key type is live or test", code="InvalidKeyType")
    else:
        raise BadRequest("api must be notify or pay", code="InvalidApi")
    if await repo.unrevoked_key_named(session, service.id, api, name) is not None:
        raise Conflict(f"The service already has a key called {name!r}", code="KeyNameTaken")
    key = ApiKey(
        id=uuid.uuid4(),
        service_id=service.id,
        api=api,
        name=name,
        key_type=key_type,
        scopes=_scopes(api, scopes),
        created_by=actor,
    )
    if api == "notify":
        full, secret = formats.notify_key(name.replace(" ", "_"), service.id)
        key.secret_encrypted = material.box.encrypt(secret)
    else:
        full = formats.pay_key(key_type, material.checksum_secret)
        key.secret_hash = material.hash(full)
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="api_key.create",
        target_type="api_key",
        target_id=key.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details={"api": api, "name": name, "key_type": key_type, "scopes": key.scopes},
    )
    return key, full


async def revoke_key(session: AsyncSession, service_id: uuid.UUID, key_id: uuid.UUID, *, actor: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.service_id != service_id:
        raise KeyNotFound()
    if key.expiry_date is None:
        key.expiry_date = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="api_key.revoke",
            target_type="api_key",
            target_id=key.id,
            service_id=service_id,
            details={"api": key.api, "name": key.name},
        )
    return key


async def create_admin_token(
    session: AsyncSession, material: KeyMaterial, *, name: str, actor: str
) -> tuple[AdminToken, str]:
    secret = formats.admin_token()
    token = AdminToken(id=uuid.uuid4(), name=name, secret_hash=material.hash(secret))
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="admin_token.create",
        target_type="admin_token",
        target_id=token.id,
        details={"name": name},
    )
    return token, secret


async def revoke_admin_token(session: AsyncSession, token_id: uuid.UUID, *, actor: str) -> AdminToken:
    token = await session.get(AdminToken, token_id)
    if token is None:
        raise NotFound("No such admin token", code="AdminTokenNotFound")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="admin_token.revoke",
            target_type="admin_token",
            target_id=token.id,
            details={"name": token.name},
        )
    return token
