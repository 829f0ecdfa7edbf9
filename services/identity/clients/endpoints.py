"""Identity's internal API (`/internal/*`), which the gateway never routes publicly. It answers in the platform
envelope, like everything that is not an OAuth-compatible API."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from gaap.db.deps import DbSession
from gaap.internal import GatewayForService, internal_router
from services.identity.clients import service as clients
from services.identity.clients.schemas import ServiceDocument, ServiceState

router = internal_router("identity")


@router.put("/services/{service_id}", response_model=ServiceState)
async def put_service(
    service_id: GatewayForService,
    document: ServiceDocument,
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
) -> object:
    """Create, replace or delete the service's OIDC clients (idempotent; older versions are ignored)."""
    state = request.app.state
    changed = await clients.apply_document(
        session, service_id, document, development=state.settings.platform.is_development
    )
    # Runs after the commit (the session's dependency commits before the response goes out).
    background.add_task(state.identity.clients.changed, changed)
    return await clients.state(session, service_id)
