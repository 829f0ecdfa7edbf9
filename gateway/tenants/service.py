"""Tenant business rules. Every change writes its audit event in the same transaction. Only flushes: the caller's
session dependency commits (ARCHITECTURE rule 1)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import BadRequest, Conflict, NotFound
from gateway.audit import service as audit
from gateway.sync.service import schedule
from gateway.tenants import repository as repo
from gateway.tenants.models import ROLES, Organisation, Service, TeamMember
from gateway.tenants.secrets import redacted, same_settings, sealed

PAY_RATE_TIERS = ("default", "elevated", "low")


class OrganisationNotFound(NotFound):
    code = "OrganisationNotFound"
    message = "No such organisation"


class ServiceNotFound(NotFound):
    code = "ServiceNotFound"
    message = "No such service"


class MemberNotFound(NotFound):
    code = "MemberNotFound"
    message = "No such team member"


def _clean_name(name: str, what: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise BadRequest(f"{what} name must not be blank", code="InvalidName")
    if len(name) > 255:
        raise BadRequest(f"{what} name must be 255 characters or fewer", code="InvalidName")
    return name


async def require_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation:
    org = await repo.get_organisation(session, organisation_id)
    if org is None:
        raise OrganisationNotFound()
    return org


async def require_service(session: AsyncSession, service_id: uuid.UUID) -> Service:
    service = await repo.get_service(session, service_id)
    if service is None:
        raise ServiceNotFound()
    return service


async def create_organisation(session: AsyncSession, *, name: str, actor: str) -> Organisation:
    name = _clean_name(name, "Organisation")
    if await repo.organisation_by_name(session, name) is not None:
        raise Conflict(f"An organisation called {name!r} already exists", code="OrganisationExists")
    org = Organisation(id=uuid.uuid4(), name=name)
    session.add(org)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="organisation.create",
        target_type="organisation",
        target_id=org.id,
        organisation_id=org.id,
        details={"name": name},
    )
    return org


async def archive_organisation(session: AsyncSession, organisation_id: uuid.UUID, *, actor: str) -> Organisation:
    org = await require_organisation(session, organisation_id)
    if org.archived_at is None:
        org.archived_at = utcnow()
        for service in await repo.list_services(session, organisation_id=org.id):
            await _archive_service(session, service, actor=actor)
        await audit.record(
            session,
            actor=actor,
            action="organisation.archive",
            target_type="organisation",
            target_id=org.id,
            organisation_id=org.id,
        )
    return org


async def create_service(
    session: AsyncSession, *, organisation_id: uuid.UUID, name: str, actor: str, restricted: bool = True
) -> Service:
    org = await require_organisation(session, organisation_id)
    if org.archived_at is not None:
        raise Conflict("The organisation is archived", code="OrganisationArchived")
    name = _clean_name(name, "Service")
    if await repo.service_by_name(session, org.id, name) is not None:
        raise Conflict(f"The organisation already has a service called {name!r}", code="ServiceExists")
    service = Service(id=uuid.uuid4(), organisation_id=org.id, name=name, restricted=restricted)
    session.add(service)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="service.create",
        target_type="service",
        target_id=service.id,
        service_id=service.id,
        organisation_id=org.id,
        details={"name": name, "restricted": restricted},
    )
    await schedule(session, service)
    return service


async def update_service(
    session: AsyncSession,
    service_id: uuid.UUID,
    *,
    actor: str,
    name: str | None = None,
    restricted: bool | None = None,
    rate_limit: int | None = None,
    pay_rate_tier: str | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> Service:
    service = await require_service(session, service_id)
    changes: dict[str, object] = {}
    if name is not None and (name := _clean_name(name, "Service")) != service.name:
        if await repo.service_by_name(session, service.organisation_id, name) is not None:
            raise Conflict(f"The organisation already has a service called {name!r}", code="ServiceExists")
        changes["name"] = service.name = name
    if restricted is not None and restricted != service.restricted:
        changes["restricted"] = service.restricted = restricted
    if rate_limit is not None and rate_limit != service.rate_limit:
        if not 1 <= rate_limit <= 1_000_000:
            raise BadRequest("rate_limit must be between 1 and 1000000 a minute", code="InvalidRateLimit")
        changes["rate_limit"] = service.rate_limit = rate_limit
    if pay_rate_tier is not None and pay_rate_tier != service.pay_rate_tier:
        if pay_rate_tier not in PAY_RATE_TIERS:
            raise BadRequest(f"pay_rate_tier must be one of {', '.join(PAY_RATE_TIERS)}", code="InvalidTier")
        changes["pay_rate_tier"] = service.pay_rate_tier = pay_rate_tier
    if settings is not None:
        merged = {**(service.settings or {}), **settings}
        if not same_settings(merged, service.settings):
            service.settings = sealed(merged)
            changes["settings"] = redacted(merged)
    if changes:
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="service.update",
            target_type="service",
            target_id=service.id,
            service_id=service.id,
            organisation_id=service.organisation_id,
            details=changes,
        )
        await schedule(session, service)
    return service


async def _archive_service(session: AsyncSession, service: Service, *, actor: str) -> None:
    if service.archived_at is not None:
        return
    service.archived_at = utcnow()
    service.active = False
    await session.flush()
    await schedule(session, service)
    await audit.record(
        session,
        actor=actor,
        action="service.archive",
        target_type="service",
        target_id=service.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
    )


async def archive_service(session: AsyncSession, service_id: uuid.UUID, *, actor: str) -> Service:
    service = await require_service(session, service_id)
    await _archive_service(session, service, actor=actor)
    return service


def _clean_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise BadRequest(f"Unknown role(s): {', '.join(unknown)}. Roles are: {', '.join(ROLES)}", code="InvalidRole")
    return sorted(set(roles))


async def add_member(
    session: AsyncSession,
    service_id: uuid.UUID,
    *,
    email: str,
    roles: list[str],
    actor: str,
    name: str = "",
    mobile_number: str | None = None,
) -> TeamMember:
    service = await require_service(session, service_id)
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise BadRequest("Enter an email address in the correct format", code="InvalidEmail")
    if await repo.active_member(session, service.id, email) is not None:
        raise Conflict(f"{email} is already a member of this service", code="MemberExists")
    member = TeamMember(
        id=uuid.uuid4(),
        service_id=service.id,
        email=email,
        name=name.strip(),
        mobile_number=mobile_number,
        roles=_clean_roles(roles),
    )
    session.add(member)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="member.add",
        target_type="team_member",
        target_id=member.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details={"email": email, "roles": member.roles},
    )
    await schedule(session, await require_service(session, member.service_id))
    return member


async def set_member_roles(
    session: AsyncSession, service_id: uuid.UUID, member_id: uuid.UUID, *, roles: list[str], actor: str
) -> TeamMember:
    member = await session.get(TeamMember, member_id)
    if member is None or member.service_id != service_id or member.removed_at is not None:
        raise MemberNotFound()
    member.roles = _clean_roles(roles)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="member.roles",
        target_type="team_member",
        target_id=member.id,
        service_id=service_id,
        details={"roles": member.roles},
    )
    return member


async def remove_member(
    session: AsyncSession, service_id: uuid.UUID, member_id: uuid.UUID, *, actor: str
) -> TeamMember:
    member = await session.get(TeamMember, member_id)
    if member is None or member.service_id != service_id or member.removed_at is not None:
        raise MemberNotFound()
    member.removed_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="member.remove",
        target_type="team_member",
        target_id=member.id,
        service_id=service_id,
        details={"email": member.email},
    )
    await schedule(session, await require_service(session, member.service_id))
    return member


class LastAdmin(Conflict):
    code = "LastAdmin"
    message = "A service must keep at least one admin"


async def keep_an_admin(
    session: AsyncSession, service_id: uuid.UUID, member_id: uuid.UUID, *, roles_after: list[str] | None
) -> None:
    """Refuse to take the `admin` role from the service's last admin, by a change of roles (`roles_after`) or a
    removal (`roles_after=None`). The service's row is locked first, so two admins removing each other at the
    same moment cannot both succeed (SQLite's write transaction serialises them the same way)."""
    await session.execute(select(Service.id).where(Service.id == service_id).with_for_update())
    members = await repo.list_members(session, service_id)
    member = next((m for m in members if m.id == member_id), None)
    if member is None or "admin" not in member.roles or (roles_after is not None and "admin" in roles_after):
        return
    if not any("admin" in m.roles for m in members if m.id != member_id):
        raise LastAdmin()


async def update_component_settings(
    session: AsyncSession, service_id: uuid.UUID, component: str, values: dict[str, Any], *, actor: str
) -> Service:
    """Replace one component's settings (`settings[component]`) and push them; the component validates them.
    Secrets (callback bearer tokens) are stored sealed and masked in the audit event (`gateway.tenants.secrets`)."""
    service = await require_service(session, service_id)
    current = dict(service.settings or {})
    if same_settings(current.get(component, {}), values):
        return service
    service.settings = {**current, component: sealed(values)}
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="service.update",
        target_type="service",
        target_id=service.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details={"settings": {component: redacted(values)}},
    )
    await schedule(session, service)
    return service
