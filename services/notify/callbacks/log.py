"""The delivery log (notify spec §14, §18.3): what notify owed a service and what each attempt got, for the
service itself (`GET /v2/callbacks/log`) and later the console. Only ids, statuses and outcomes: never the body,
which holds a recipient."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.app import family_route
from gaap.db.deps import ReadSession
from services.notify.auth import NotifyCaller
from services.notify.callbacks.models import CallbackAttempt, CallbackDelivery
from services.notify.formats import iso

PAGE = 50


async def delivery_log(
    session: AsyncSession, service_id: uuid.UUID, *, status: str | None = None, limit: int = PAGE
) -> list[dict[str, Any]]:
    """The service's latest callbacks, newest first, each with its attempts in order."""
    query = select(CallbackDelivery).where(CallbackDelivery.service_id == service_id)
    if status is not None:
        query = query.where(CallbackDelivery.status == status)
    deliveries = (await session.scalars(query.order_by(CallbackDelivery.created_at.desc()).limit(limit))).all()
    attempts: dict[uuid.UUID, list[dict[str, Any]]] = {d.id: [] for d in deliveries}
    if deliveries:
        found = await session.scalars(
            select(CallbackAttempt)
            .where(CallbackAttempt.delivery_id.in_(list(attempts)))
            .order_by(CallbackAttempt.attempt, CallbackAttempt.attempted_at)
        )
        for a in found:
            attempts[a.delivery_id].append(
                {
                    "attempt": a.attempt,
                    "status_code": a.status_code,
                    "error": a.error,
                    "attempted_at": iso(a.attempted_at),
                    "duration_ms": a.duration_ms,
                }
            )
    return [
        {
            "id": str(d.id),
            "callback_type": d.callback_type,
            "subject_id": str(d.subject_id),
            "status": d.status,
            "created_at": iso(d.created_at),
            "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
            "attempts": attempts[d.id],
        }
        for d in deliveries
    ]


router = APIRouter(
    tags=["callbacks"],
    route_class=family_route("platform"),
    responses={
        400: {"description": "BadRequest: a query parameter is not valid"},
        401: {"description": "AuthError"},
        403: {"description": "AuthError"},
    },
)


@router.get("/v2/callbacks/log")
async def get_log(
    caller: NotifyCaller,
    session: ReadSession,
    status: str | None = Query(default=None, pattern="^(pending|delivered|failed)$"),
    limit: int = Query(default=PAGE, ge=1, le=250),
) -> dict[str, Any]:
    """The caller's service's latest callbacks (`failed` ones are the dead letters) and every attempt's outcome."""
    return {"data": await delivery_log(session, caller.service.id, status=status, limit=limit)}
