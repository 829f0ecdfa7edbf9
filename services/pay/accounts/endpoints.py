"""Pay's internal API (`/internal/*`), which the gateway never routes publicly. It answers in the platform
envelope, like everything that is not a GOV.UK-compatible API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from gaap.app import family_route
from gaap.db.deps import DbSession
from gaap.errors import Forbidden
from gaap.principal import GatewayCaller
from services.pay.accounts import service as accounts
from services.pay.accounts.schemas import ServiceDocument, ServiceState

router = APIRouter(
    prefix="/internal",
    route_class=family_route("platform"),
    tags=["internal"],
    responses={
        400: {"description": "Invalid document"},
        401: {"description": "No principal token"},
        403: {"description": "Not the gateway"},
        422: {"description": "Settings pay cannot honour"},
    },
)


@router.put("/services/{service_id}", response_model=ServiceState)
async def put_service(
    service_id: uuid.UUID, document: ServiceDocument, request: Request, session: DbSession, caller: GatewayCaller
) -> object:
    """Create or replace the service's test and live accounts (idempotent; older versions are ignored)."""
    if caller.service_id != str(service_id):
        raise Forbidden("The principal is for another service", code="WrongService")
    state = request.app.state
    await accounts.apply_document(
        session,
        service_id,
        document,
        providers=state.providers.keys(),
        allow_sandbox_live=state.settings.allow_sandbox_live,
    )
    return await accounts.state(session, service_id)
