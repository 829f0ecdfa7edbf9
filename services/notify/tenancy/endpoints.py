"""Notify's internal API (`/internal/*`), which the gateway never routes publicly."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Request

from gaap.app import family_route
from gaap.db.deps import DbSession
from gaap.errors import Forbidden
from gaap.principal import GatewayCaller
from services.notify.tenancy import service as tenancy
from services.notify.tenancy.schemas import ServiceDocument, ServiceState

router = APIRouter(
    prefix="/internal",
    route_class=family_route("platform"),
    tags=["internal"],
    responses={
        400: {"description": "Invalid document"},
        401: {"description": "No principal token"},
        403: {"description": "Not the gateway"},
        422: {"description": "Settings notify cannot honour"},
    },
)


@router.put("/services/{service_id}", response_model=ServiceState)
async def put_service(
    service_id: uuid.UUID,
    document: ServiceDocument,
    request: Request,
    session: DbSession,
    caller: GatewayCaller,
    background: BackgroundTasks,
) -> object:
    """Create or replace notify's copy of a service (idempotent; older versions are ignored)."""
    if caller.service_id != str(service_id):
        raise Forbidden("The principal is for another service", code="WrongService")
    service = await tenancy.apply_document(session, service_id, document)
    # Runs after the commit (the session's dependency commits before the response goes out).
    background.add_task(request.app.state.records.changed_service, service_id)
    return await tenancy.state(session, service)
