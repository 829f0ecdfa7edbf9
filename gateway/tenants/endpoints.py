"""Admin API for organisations, services and team members (`/console/api/v1`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from gaap.db.deps import DbSession, ReadSession
from gateway.auth.admin import ADMIN_ERRORS, AdminActor
from gateway.sync.deps import DeliverPushes
from gateway.tenants import repository as repo
from gateway.tenants import service as tenants
from gateway.tenants.schemas import (
    MemberCreate,
    MemberOut,
    MemberRoles,
    OrganisationCreate,
    OrganisationOut,
    ServiceCreate,
    ServiceOut,
    ServiceUpdate,
)

router = APIRouter(prefix="/console/api/v1", tags=["tenants"], responses=ADMIN_ERRORS, dependencies=[DeliverPushes])


@router.post("/organisations", status_code=201, response_model=OrganisationOut)
async def create_organisation(body: OrganisationCreate, session: DbSession, actor: AdminActor) -> object:
    """Create an organisation (a department or public body)."""
    return await tenants.create_organisation(session, name=body.name, actor=actor)


@router.get("/organisations", response_model=list[OrganisationOut])
async def list_organisations(session: ReadSession, _actor: AdminActor) -> object:
    """List organisations that are not archived."""
    return await repo.list_organisations(session)


@router.post("/organisations/{organisation_id}/archive", response_model=OrganisationOut)
async def archive_organisation(organisation_id: uuid.UUID, session: DbSession, actor: AdminActor) -> object:
    """Archive an organisation and all its services."""
    return await tenants.archive_organisation(session, organisation_id, actor=actor)


@router.post("/services", status_code=201, response_model=ServiceOut)
async def create_service(body: ServiceCreate, session: DbSession, actor: AdminActor) -> object:
    """Create a service in an organisation. New services start in trial mode."""
    return await tenants.create_service(
        session, organisation_id=body.organisation_id, name=body.name, restricted=body.restricted, actor=actor
    )


@router.get("/services", response_model=list[ServiceOut])
async def list_services(session: ReadSession, _actor: AdminActor, organisation_id: uuid.UUID | None = None) -> object:
    """List services, optionally of one organisation."""
    return await repo.list_services(session, organisation_id=organisation_id)


@router.get("/services/{service_id}", response_model=ServiceOut)
async def get_service(service_id: uuid.UUID, session: ReadSession, _actor: AdminActor) -> object:
    """Get one service."""
    return await tenants.require_service(session, service_id)


@router.patch("/services/{service_id}", response_model=ServiceOut)
async def update_service(service_id: uuid.UUID, body: ServiceUpdate, session: DbSession, actor: AdminActor) -> object:
    """Change a service's settings (name, trial mode, rate limits)."""
    return await tenants.update_service(session, service_id, actor=actor, **body.model_dump(exclude_none=True))


@router.post("/services/{service_id}/archive", response_model=ServiceOut)
async def archive_service(service_id: uuid.UUID, session: DbSession, actor: AdminActor) -> object:
    """Archive a service: its keys stop working."""
    return await tenants.archive_service(session, service_id, actor=actor)


@router.post("/services/{service_id}/members", status_code=201, response_model=MemberOut)
async def add_member(service_id: uuid.UUID, body: MemberCreate, session: DbSession, actor: AdminActor) -> object:
    """Add a team member with roles."""
    return await tenants.add_member(
        session,
        service_id,
        email=body.email,
        name=body.name,
        mobile_number=body.mobile_number,
        roles=body.roles,
        actor=actor,
    )


@router.get("/services/{service_id}/members", response_model=list[MemberOut])
async def list_members(service_id: uuid.UUID, session: ReadSession, _actor: AdminActor) -> object:
    """List a service's team."""
    await tenants.require_service(session, service_id)
    return await repo.list_members(session, service_id)


@router.put("/services/{service_id}/members/{member_id}/roles", response_model=MemberOut)
async def set_roles(
    service_id: uuid.UUID, member_id: uuid.UUID, body: MemberRoles, session: DbSession, actor: AdminActor
) -> object:
    """Replace a team member's roles."""
    return await tenants.set_member_roles(session, service_id, member_id, roles=body.roles, actor=actor)


@router.delete("/services/{service_id}/members/{member_id}", status_code=204)
async def remove_member(service_id: uuid.UUID, member_id: uuid.UUID, session: DbSession, actor: AdminActor) -> None:
    """Remove a team member."""
    await tenants.remove_member(session, service_id, member_id, actor=actor)
