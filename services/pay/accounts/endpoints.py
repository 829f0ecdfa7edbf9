"""Pay's internal API (`/internal/*`), which the gateway never routes publicly. It answers in the platform
envelope, like everything that is not a GOV.UK-compatible API."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from gaap.db.deps import DbSession
from gaap.internal import GatewayForService, internal_router
from services.pay.accounts import service as accounts
from services.pay.accounts.schemas import ServiceDocument, ServiceState

router = internal_router("pay")


@router.put("/services/{service_id}", response_model=ServiceState)
async def put_service(
    service_id: GatewayForService,
    document: ServiceDocument,
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
) -> object:
    """Create or replace the service's test and live accounts (idempotent; older versions are ignored)."""
    state = request.app.state
    await accounts.apply_document(
        session,
        service_id,
        document,
        providers=state.providers.keys(),
        allow_sandbox_live=state.settings.allow_sandbox_live,
    )
    # Runs after the commit (the session's dependency commits before the response goes out).
    background.add_task(state.accounts.changed, service_id)
    return await accounts.state(session, service_id)
