"""Console pages: the admin's services, one service, and the platform's status. Every page needs a session."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gaap.db.deps import ReadSession
from gaap.health import readiness
from gaap.pages import Pages
from gateway.console import (
    audit,
    bulk,
    client_secrets,
    clients,
    inbox,
    invitations,
    links,
    messages,
    notify,
    organisations,
    pay,
    settings_secrets,
    team,
    usage,
)
from gateway.console import repository as repo
from gateway.console import settings as service_settings
from gateway.console.access import ConsoleRoute, SignedInAdmin, service_access
from gateway.console.status import ComponentStatus, platform_status
from gateway.console.texts import role_names

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
#: The Notify pages ride on this router: the gateway app includes the console's routers by name.
router.include_router(notify.router)
router.include_router(messages.router)
router.include_router(bulk.router)
router.include_router(pay.router)
router.include_router(links.router)
router.include_router(organisations.router)
router.include_router(settings_secrets.router)  # before the settings' own `/{slug}` pages
router.include_router(service_settings.router)
router.include_router(team.router)
router.include_router(invitations.router)
router.include_router(clients.router)
router.include_router(client_secrets.router)
router.include_router(audit.router)
router.include_router(inbox.router)
router.include_router(usage.router)


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


@router.get("", response_class=HTMLResponse)
async def services_page(request: Request, admin: SignedInAdmin, session: ReadSession) -> HTMLResponse:
    """The services the admin works on (every service, for a platform operator)."""
    if admin.operator:
        services = await repo.every_service(session)
    else:
        services = [(service, org) for service, org, _member in await repo.memberships(session, admin.email)]
    rows = [
        {"id": service.id, "name": service.name, "organisation": org.name, "live": not service.restricted}
        for service, org in services
    ]
    return _pages(request).render(request, "console/services.html", {"admin": admin, "nav": "services", "rows": rows})


@router.get("/services/{service_id}", response_class=HTMLResponse)
async def service_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """One service: its organisation, whether it is live, and the admin's roles there."""
    access = await service_access(session, admin, service_id)
    context = {
        "admin": admin,
        "nav": "services",
        "access": access,
        "roles": role_names(access.roles),
        "may_manage_keys": access.may("manage_api_keys"),
        "may_use_notify": access.may(notify.MANAGE, notify.SEND),
        "may_see_payments": access.may(pay.VIEW, pay.REFUND),
    }
    return _pages(request).render(request, "console/service.html", context)


@router.get("/status", response_class=HTMLResponse)
async def status_page(request: Request, admin: SignedInAdmin) -> HTMLResponse:
    """The platform's status: whether each component is ready, and what it depends on."""
    state = request.app.state
    ready, checks = await readiness(
        "gateway", {"database": state.db.ping, "redis": state.redis.ping}, required={"database"}
    )
    components = [ComponentStatus("gateway", ready, checks)]
    components += await platform_status(state.front.state.forwarder.session, state.front.upstreams)
    context = {"admin": admin, "nav": "status", "components": components, "all_ready": all(c.ready for c in components)}
    return _pages(request).render(request, "console/status.html", context)
