"""Pay's usage statistics on its internal API, which the gateway never routes publicly."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from gaap.db.deps import ReadSession
from gaap.internal import GatewayForService, internal_router
from gaap.usage import Days
from services.pay.usage import service
from services.pay.usage.schemas import Usage

router = internal_router("pay")


@router.get("/services/{service_id}/usage", response_model=Usage)
async def get_usage(
    service_id: GatewayForService,
    days: Days,
    session: ReadSession,
    mode: Annotated[Literal["live", "test"], Query(description="The account: live or test")] = "live",
) -> Usage:
    """The account's payments per UTC day by public state, and its refunds by status, counted and summed."""
    return await service.usage(session, service_id, mode, days)
