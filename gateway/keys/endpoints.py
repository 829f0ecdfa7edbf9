"""Admin API for API keys (`/console/api/v1/services/{id}/keys`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Request

from gaap.db.deps import DbSession, ReadSession
from gateway.auth.admin import ADMIN_ERRORS, AdminActor
from gateway.auth.credentials import announce_invalidation
from gateway.keys import repository as repo
from gateway.keys import service as keys
from gateway.keys.schemas import KeyCreate, KeyCreated, KeyOut
from gateway.tenants.service import require_service

router = APIRouter(prefix="/console/api/v1/services/{service_id}/keys", tags=["keys"], responses=ADMIN_ERRORS)


@router.post("", status_code=201, response_model=KeyCreated)
async def create_key(
    service_id: uuid.UUID, body: KeyCreate, request: Request, session: DbSession, actor: AdminActor
) -> object:
    """Create a key. The response is the only time the full key is shown."""
    key, full = await keys.create_key(
        session,
        request.app.state.key_material,
        service_id=service_id,
        api=body.api,
        name=body.name,
        key_type=body.key_type,
        scopes=body.scopes,
        actor=actor,
    )
    return KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": full})


@router.get("", response_model=list[KeyOut])
async def list_keys(service_id: uuid.UUID, session: ReadSession, _actor: AdminActor) -> object:
    """List a service's keys (never their secrets), revoked ones included."""
    await require_service(session, service_id)
    return await repo.keys_of_service(session, service_id)


@router.post("/{key_id}/revoke", response_model=KeyOut)
async def revoke_key(
    service_id: uuid.UUID,
    key_id: uuid.UUID,
    request: Request,
    session: DbSession,
    actor: AdminActor,
    background: BackgroundTasks,
) -> object:
    """Revoke a key. Every gateway process stops accepting it at once."""
    key = await keys.revoke_key(session, service_id, key_id, actor=actor)
    # Background tasks run after the session dependency has committed.
    background.add_task(announce_invalidation, request.app.state.redis)
    return key
