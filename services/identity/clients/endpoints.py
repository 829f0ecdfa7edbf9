"""Identity's internal API (`/internal/*`), which the gateway never routes publicly. It answers in the platform
envelope, like everything that is not an OAuth-compatible API."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request, Response

from gaap.db.deps import DbSession
from gaap.internal import GatewayForService, internal_router
from services.identity.clients import service as clients
from services.identity.clients.schemas import NewClientSecret, ServiceDocument, ServiceState

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


@router.post(
    "/services/{service_id}/clients/{client_id}/secret",
    response_model=NewClientSecret,
    responses={
        404: {"description": "The service has no such client"},
        409: {"description": "The client uses private_key_jwt, so it has no secret"},
    },
)
async def new_client_secret(
    service_id: GatewayForService,
    client_id: str,
    request: Request,
    response: Response,
    session: DbSession,
    background: BackgroundTasks,
) -> object:
    """A new secret for a `client_secret_post` or `client_secret_basic` client, answered this once: identity keeps
    only its keyed hash, and the client's previous secret stops working."""
    registry = request.app.state.identity.clients
    made = await clients.new_secret(session, service_id, client_id, registry.secrets)
    # After the commit, every process drops its copy of the client, so none accepts the old secret.
    background.add_task(registry.changed, [client_id])
    response.headers["Cache-Control"] = "no-store"
    return made
