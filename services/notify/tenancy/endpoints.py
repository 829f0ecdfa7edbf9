"""Notify's internal API (`/internal/*`), which the gateway never routes publicly."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from gaap.db.deps import DbSession
from gaap.internal import GatewayForService, internal_router
from services.notify.tenancy import service as tenancy
from services.notify.tenancy.schemas import ServiceDocument, ServiceState

router = internal_router("notify")


@router.put("/services/{service_id}", response_model=ServiceState)
async def put_service(
    service_id: GatewayForService,
    document: ServiceDocument,
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
) -> object:
    """Create or replace notify's copy of a service (idempotent; older versions are ignored)."""
    development = request.app.state.settings.platform.is_development
    service, secrets = await tenancy.apply_document(session, service_id, document, development=development)
    # Runs after the commit (the session's dependency commits before the response goes out).
    background.add_task(request.app.state.records.changed_service, service_id)
    return await tenancy.state(session, service, secrets)
