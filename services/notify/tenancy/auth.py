"""Who may call notify's internal API: only the gateway, with the internal scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gaap.errors import Forbidden
from gaap.principal import Principal, ServicePrincipal

INTERNAL_SCOPE = "gaap:internal"


def _require_gateway(principal: ServicePrincipal) -> Principal:
    if INTERNAL_SCOPE not in principal.scopes:
        raise Forbidden("Only the gateway may call the internal API", code="NotInternal")
    return principal


GatewayCaller = Annotated[Principal, Depends(_require_gateway)]
