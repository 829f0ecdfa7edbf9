"""Admin API for the audit log: search, and verify the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from gaap.db.deps import ReadSession
from gateway.audit import service as audit
from gateway.auth.admin import AdminActor

router = APIRouter(
    prefix="/console/api/v1/audit", tags=["audit"], responses={401: {"description": "No valid admin token"}}
)


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    organisation_id: str | None
    service_id: str | None
    details: dict[str, Any]
    request_id: str
    prev_hash: str
    hash: str


class ChainOut(BaseModel):
    ok: bool
    events: int
    first_bad_seq: int | None
    reason: str


@router.get("/events", response_model=list[AuditEventOut])
async def search_events(
    session: ReadSession,
    _actor: AdminActor,
    service_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    before_seq: int | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> object:
    """Search the audit log, newest first."""
    return await audit.search(
        session, service_id=service_id, action=action, actor=actor, before_seq=before_seq, limit=limit
    )


@router.get("/verify", response_model=ChainOut)
async def verify_chain(session: ReadSession, _actor: AdminActor) -> object:
    """Check the hash chain from the first event to the head."""
    return await audit.verify(session)
