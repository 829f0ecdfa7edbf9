"""Identity's usage statistics and sign-in activity on its internal API, which the gateway never routes publicly."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from gaap.db.deps import ReadSession
from gaap.internal import GatewayForService, internal_router
from gaap.usage import Days
from services.identity.usage import service
from services.identity.usage.schemas import SignIns, Usage

router = internal_router("identity")
#: The most sign-ins one call lists.
MAX_SIGN_INS = 200


@router.get("/services/{service_id}/usage", response_model=Usage)
async def get_usage(service_id: GatewayForService, days: Days, session: ReadSession) -> Usage:
    """Sign-ins to the service's relying parties per UTC day, by the level reached and how identity proving went."""
    return await service.usage(session, service_id, days)


@router.get("/services/{service_id}/sign-ins", response_model=SignIns)
async def get_sign_ins(
    service_id: GatewayForService,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=MAX_SIGN_INS, description="How many, newest first")] = 50,
) -> SignIns:
    """The service's newest sign-ins: when, which client, the level reached and how proving went, with the first
    characters of the `sub` the client received."""
    return await service.newest(session, service_id, limit)
