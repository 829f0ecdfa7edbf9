"""The console's own queries: which services a signed-in admin works on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.tenants.models import Organisation, Service, TeamMember


async def memberships(session: AsyncSession, email: str) -> list[tuple[Service, Organisation, TeamMember]]:
    """The live services `email` is an active team member of, with their organisation, by organisation and name."""
    query = (
        select(Service, Organisation, TeamMember)
        .join(TeamMember, TeamMember.service_id == Service.id)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(TeamMember.email == email, TeamMember.removed_at.is_(None), Service.archived_at.is_(None))
        .order_by(Organisation.name, Service.name)
    )
    return [(s, o, m) for s, o, m in (await session.execute(query)).all()]


async def every_service(session: AsyncSession) -> list[tuple[Service, Organisation]]:
    """Every live service, for platform operators."""
    query = (
        select(Service, Organisation)
        .join(Organisation, Organisation.id == Service.organisation_id)
        .where(Service.archived_at.is_(None))
        .order_by(Organisation.name, Service.name)
    )
    return [(s, o) for s, o in (await session.execute(query)).all()]
