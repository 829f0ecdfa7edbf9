"""Every key query lives here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.keys.models import AdminToken, ApiKey


async def keys_of_service(session: AsyncSession, service_id: uuid.UUID, api: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.service_id == service_id).order_by(ApiKey.created_at)
    if api is not None:
        query = query.where(ApiKey.api == api)
    return list((await session.execute(query)).scalars().all())


async def unrevoked_key_named(session: AsyncSession, service_id: uuid.UUID, api: str, name: str) -> ApiKey | None:
    query = select(ApiKey).where(
        ApiKey.service_id == service_id, ApiKey.api == api, ApiKey.name == name, ApiKey.expiry_date.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def key_by_hash(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(ApiKey.secret_hash == secret_hash))).scalar_one_or_none()


async def admin_token_by_hash(session: AsyncSession, secret_hash: str) -> AdminToken | None:
    query = select(AdminToken).where(AdminToken.secret_hash == secret_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def touch_keys(session: AsyncSession, used: dict[uuid.UUID, datetime]) -> None:
    """Record last use; called at most once a minute per process with what it saw."""
    for key_id, when in used.items():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < when))
            .values(last_used_at=when)
        )
