"""Notify's usage statistics on its internal API, which the gateway never routes publicly."""

from __future__ import annotations

from fastapi import Request

from gaap.db.deps import ReadSession
from gaap.internal import GatewayForService, internal_router
from gaap.usage import Days
from services.notify.usage import service
from services.notify.usage.schemas import Usage

router = internal_router("notify")


@router.get("/services/{service_id}/usage", response_model=Usage)
async def get_usage(service_id: GatewayForService, days: Days, request: Request, session: ReadSession) -> Usage:
    """Messages sent with live and team keys per UTC day, by channel and status group, and today's daily limits
    with how much of each is used."""
    state = request.app.state
    record = await state.records.service(service_id)
    return await service.usage(session, state.counts, service_id, record.service if record else None, days)
