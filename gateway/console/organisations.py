"""Organisations and their services in the console.

Platform operators (`GATEWAY_CONSOLE_OPERATORS`) list and create organisations, archive one (with its services),
and create a service in one: the operator who creates it becomes its first admin, so its team can grow from the
console. A service's own admins may archive it. Every write goes through `tenants.service`, as the admin API's do,
so it is audited with the admin as the actor and pushed to the components (after the response, as the admin API
does; the gateway worker's sweeper delivers what that misses).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.errors import ApiError
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.auth.credentials import announce_invalidation
from gateway.console.access import Admin, ConsoleRoute, SignedInAdmin, service_access
from gateway.sync.deps import DeliverPushes
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import Organisation

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

#: What the name forms show beside the name, by `tenants.service` error code.
NAME_ERRORS = {
    "InvalidName": "Enter a name, in 255 characters or fewer",
    "OrganisationExists": "There is already an organisation with this name",
    "ServiceExists": "This organisation already has a service with this name",
    "OrganisationArchived": "This organisation is archived: it cannot have new services",
}


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "organisations", **context}, status_code)


def _operator(admin: Admin) -> Admin:
    if not admin.operator:
        raise PageError(status_code=403)
    return admin


async def _organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation:
    organisation = await tenant_repo.get_organisation(session, organisation_id)
    if organisation is None:
        raise PageError(status_code=404)
    return organisation


@router.get("/organisations", response_class=HTMLResponse)
async def organisations_page(
    request: Request,
    admin: SignedInAdmin,
    session: ReadSession,
    archived: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    """Every organisation still in use, with how many services each has."""
    _operator(admin)
    rows = [
        {
            "id": org.id,
            "name": org.name,
            "services": len(await tenant_repo.list_services(session, organisation_id=org.id)),
        }
        for org in await tenant_repo.list_organisations(session)
    ]
    just_archived = (await tenant_repo.get_organisation(session, archived)) if archived else None
    context = {"admin": admin, "rows": rows, "just_archived": just_archived.name if just_archived else None}
    return _render(request, "console/organisations.html", context)


def _name_form(
    request: Request,
    admin: Admin,
    *,
    kind: str,
    organisation: Organisation | None = None,
    name: str = "",
    error: str | None = None,
) -> HTMLResponse:
    context = {"admin": admin, "kind": kind, "organisation": organisation, "name": name, "error": error}
    return _render(request, "console/name_form.html", {**context, "has_errors": bool(error)}, 400 if error else 200)


@router.get("/organisations/create", response_class=HTMLResponse)
async def create_organisation_page(request: Request, admin: SignedInAdmin) -> HTMLResponse:
    """The new organisation's name."""
    return _name_form(request, _operator(admin), kind="organisation")


@router.post("/organisations/create")
async def create_organisation(
    request: Request,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Create the organisation, then show it."""
    _operator(admin)
    try:
        organisation = await tenants.create_organisation(session, name=name, actor=admin.actor)
    except ApiError as exc:
        if exc.code not in NAME_ERRORS:
            raise
        return _name_form(request, admin, kind="organisation", name=name, error=NAME_ERRORS[exc.code])
    return RedirectResponse(f"/console/organisations/{organisation.id}", status_code=303)


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
async def organisation_page(
    request: Request, organisation_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The organisation and its services."""
    _operator(admin)
    organisation = await _organisation(session, organisation_id)
    services = await tenant_repo.list_services(session, organisation_id=organisation.id)
    context = {"admin": admin, "organisation": organisation, "services": services}
    return _render(request, "console/organisation.html", context)


@router.get("/organisations/{organisation_id}/services/create", response_class=HTMLResponse)
async def create_service_page(
    request: Request, organisation_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The new service's name (it starts in trial mode)."""
    _operator(admin)
    organisation = await _organisation(session, organisation_id)
    if organisation.archived_at is not None:
        raise PageError(status_code=404)
    return _name_form(request, admin, kind="service", organisation=organisation)


@router.post("/organisations/{organisation_id}/services/create", dependencies=[DeliverPushes])
async def create_service(
    request: Request,
    organisation_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Create the service in trial mode with its creator as its admin, then show it."""
    _operator(admin)
    organisation = await _organisation(session, organisation_id)
    try:
        service = await tenants.create_service(session, organisation_id=organisation.id, name=name, actor=admin.actor)
    except ApiError as exc:
        if exc.code not in NAME_ERRORS:
            raise
        error = NAME_ERRORS[exc.code]
        return _name_form(request, admin, kind="service", organisation=organisation, name=name, error=error)
    await tenants.add_member(session, service.id, email=admin.email, roles=["admin"], actor=admin.actor)
    return RedirectResponse(f"/console/services/{service.id}", status_code=303)


@router.get("/organisations/{organisation_id}/archive", response_class=HTMLResponse)
async def archive_organisation_page(
    request: Request, organisation_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> Response:
    """Ask the operator to confirm: every service of the organisation is archived with it."""
    _operator(admin)
    organisation = await _organisation(session, organisation_id)
    if organisation.archived_at is not None:
        return RedirectResponse("/console/organisations", status_code=303)
    services = await tenant_repo.list_services(session, organisation_id=organisation.id)
    context = {"admin": admin, "what": "organisation", "name": organisation.name, "services": services}
    context["cancel"] = f"/console/organisations/{organisation.id}"
    return _render(request, "console/confirm_archive.html", context)


@router.post("/organisations/{organisation_id}/archive", dependencies=[DeliverPushes])
async def archive_organisation(
    request: Request,
    organisation_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
) -> Response:
    """Archive the organisation and its services: their keys stop working (at once in every gateway process,
    announced once the change is committed)."""
    _operator(admin)
    organisation = await _organisation(session, organisation_id)
    await tenants.archive_organisation(session, organisation.id, actor=admin.actor)
    background.add_task(announce_invalidation, request.app.state.redis)
    return RedirectResponse(f"/console/organisations?archived={organisation.id}", status_code=303)


@router.get("/services/{service_id}/archive", response_class=HTMLResponse)
async def archive_service_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """Ask the service's admin to confirm."""
    access = await service_access(session, admin, service_id)
    access.require("admin")
    context = {"admin": admin, "what": "service", "name": access.service.name, "access": access, "services": []}
    context["cancel"] = f"/console/services/{service_id}"
    return _render(request, "console/confirm_archive.html", {**context, "nav": "services"})


@router.post("/services/{service_id}/archive", dependencies=[DeliverPushes])
async def archive_service(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
) -> Response:
    """Archive the service: its keys stop working and the components stop serving it."""
    access = await service_access(session, admin, service_id)
    access.require("admin")
    await tenants.archive_service(session, service_id, actor=admin.actor)
    background.add_task(announce_invalidation, request.app.state.redis)
    if admin.operator:
        return RedirectResponse(f"/console/organisations/{access.organisation.id}", status_code=303)
    return RedirectResponse("/console", status_code=303)
