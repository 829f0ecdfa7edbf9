"""Every tenant query lives here."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.tenants.models import Organisation, Service, TeamMember


async def get_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def organisation_by_name(session: AsyncSession, name: str) -> Organisation | None:
    return (await session.execute(select(Organisation).where(Organisation.name == name))).scalar_one_or_none()


async def list_organisations(session: AsyncSession, *, include_archived: bool = False) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.name)
    if not include_archived:
        query = query.where(Organisation.archived_at.is_(None))
    return list((await session.execute(query)).scalars().all())


async def get_service(session: AsyncSession, service_id: uuid.UUID) -> Service | None:
    return await session.get(Service, service_id)


async def service_by_name(session: AsyncSession, organisation_id: uuid.UUID, name: str) -> Service | None:
    query = select(Service).where(Service.organisation_id == organisation_id, Service.name == name)
    return (await session.execute(query)).scalar_one_or_none()


async def list_services(
    session: AsyncSession, *, organisation_id: uuid.UUID | None = None, include_archived: bool = False
) -> list[Service]:
    query = select(Service).order_by(Service.name)
    if organisation_id is not None:
        query = query.where(Service.organisation_id == organisation_id)
    if not include_archived:
        query = query.where(Service.archived_at.is_(None))
    return list((await session.execute(query)).scalars().all())


async def active_member(session: AsyncSession, service_id: uuid.UUID, email: str) -> TeamMember | None:
    query = select(TeamMember).where(
        TeamMember.service_id == service_id, TeamMember.email == email, TeamMember.removed_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_members(session: AsyncSession, service_id: uuid.UUID) -> list[TeamMember]:
    query = (
        select(TeamMember)
        .where(TeamMember.service_id == service_id, TeamMember.removed_at.is_(None))
        .order_by(TeamMember.email)
    )
    return list((await session.execute(query)).scalars().all())
