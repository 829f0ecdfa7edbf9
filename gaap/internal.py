"""The services' internal API (`/internal/*`): how the gateway tells a service about its tenants.

The gateway never routes `/internal/*` publicly; it calls it itself with a principal token carrying
`INTERNAL_SCOPE`, for one service at a time. Every service mounts its internal endpoints on `internal_router` and
takes the caller as `GatewayForService`, so the rule is written once: only the gateway, and only for the service
named in the path.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from gaap.app import family_route
from gaap.errors import Forbidden
from gaap.principal import ServicePrincipal

#: The scope of the gateway's own calls to a service's internal API, never given to an API key.
INTERNAL_SCOPE = "gaap:internal"


async def _gateway_for_service(service_id: uuid.UUID, principal: ServicePrincipal) -> uuid.UUID:
    if INTERNAL_SCOPE not in principal.scopes:
        raise Forbidden("Only the gateway may call the internal API", code="NotInternal")
    if principal.service_id != str(service_id):
        raise Forbidden("The principal is for another service", code="WrongService")
    return service_id


#: The `{service_id}` of an internal path, once the caller is known to be the gateway acting for that service.
GatewayForService = Annotated[uuid.UUID, Depends(_gateway_for_service)]


def internal_router(component: str) -> APIRouter:
    """`/internal/*` of `component`, answering in the platform's error format like everything new."""
    return APIRouter(
        prefix="/internal",
        route_class=family_route("platform"),
        tags=["internal"],
        responses={
            400: {"description": "Invalid document"},
            401: {"description": "No principal token"},
            403: {"description": "Not the gateway, or the gateway acting for another service"},
            422: {"description": f"Settings {component} cannot honour"},
        },
    )
