"""Saving a service's settings and learning, before answering, whether the component accepts them.

The components own their settings' rules, and the gateway hears their verdict only by pushing (`gateway.sync`).
A form's change is saved the way every console form that a component must accept is (`gateway.sync.settle`):

1. The change, its audit event and its pushes are committed (through `tenants.service`, as the admin API does),
   so the push is durable before anyone is told anything, exactly as for every other change.
2. The component's push is delivered now and its verdict read back (`settle`).
3. If the component refused the document, the change is put back in a second transaction (only if nobody has
   changed those settings since) with a `service.update_refused` audit event saying why, and the refusal is shown
   on the form. The revert is pushed like any change, after the response.

If the component cannot be reached in time, the change stays saved and its push pending: the page says it will
follow, the gateway worker's sweeper delivers it, and if it is refused then, the settings page shows the refusal
from the latest push (`settle.latest`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from gaap.errors import ApiError
from gateway.audit import service as audit
from gateway.console.settings_forms import Change, FormErrors
from gateway.sync.documents import path_of
from gateway.sync.models import PENDING, TenantPush
from gateway.sync.service import Pusher
from gateway.sync.settle import Verdict, settle
from gateway.tenants import service as tenants
from gateway.tenants.secrets import same_settings

RATE_LIMIT_ERROR = "Enter a number of messages a minute from 1 to 1,000,000"


async def _state(session: AsyncSession, service_id: uuid.UUID, component: str) -> tuple[Any, bool, int]:
    service = await tenants.require_service(session, service_id)
    return (service.settings or {}).get(component), service.restricted, service.rate_limit


async def _apply(
    session: AsyncSession, service_id: uuid.UUID, component: str, change: Change, actor: str
) -> list[uuid.UUID]:
    """Write the change; the ids of the component's pushes it scheduled (none if nothing changed)."""
    before = await _state(session, service_id, component)
    try:
        if change.restricted is not None or change.rate_limit is not None:
            await tenants.update_service(
                session, service_id, actor=actor, restricted=change.restricted, rate_limit=change.rate_limit
            )
    except ApiError as exc:
        if exc.code == "InvalidRateLimit":
            raise FormErrors({"rate_limit": RATE_LIMIT_ERROR}) from exc
        raise
    if change.component_settings is not None:
        await tenants.update_component_settings(session, service_id, component, change.component_settings, actor=actor)
    if await _state(session, service_id, component) == before:
        return []
    path = path_of(component, service_id)
    query = select(TenantPush.id).where(
        TenantPush.component == component, TenantPush.path == path, TenantPush.status == PENDING
    )
    return list((await session.scalars(query)).all())


async def _revert(
    db: Database,
    service_id: uuid.UUID,
    component: str,
    change: Change,
    before: tuple[Any, bool, int],
    *,
    actor: str,
    reason: str,
) -> None:
    """Put back what the refused change replaced, unless someone has changed it again since."""
    settings, restricted, rate_limit = before
    async with db.write_session() as session:
        service = await tenants.require_service(session, service_id)
        await audit.record(
            session,
            actor=actor,
            action="service.update_refused",
            target_type="service",
            target_id=service.id,
            service_id=service.id,
            organisation_id=service.organisation_id,
            details={"component": component, "reason": reason[:500]},
        )
        unchanged_since = same_settings((service.settings or {}).get(component), change.component_settings)
        if change.component_settings is not None and unchanged_since:
            await tenants.update_component_settings(session, service_id, component, settings or {}, actor=actor)
        put_back: dict[str, Any] = {}
        if change.restricted is not None and service.restricted == change.restricted:
            put_back["restricted"] = restricted
        if change.rate_limit is not None and service.rate_limit == change.rate_limit:
            put_back["rate_limit"] = rate_limit
        if put_back:
            await tenants.update_service(session, service_id, actor=actor, **put_back)


async def save(
    db: Database, pusher: Pusher, service_id: uuid.UUID, component: str, change: Change, *, actor: str
) -> Verdict | None:
    """Save `change`, push it to `component` now, and put it back if the component refuses it. The component's
    verdict, or None if the change changed nothing (so nothing was pushed)."""
    async with db.write_session() as session:
        before = await _state(session, service_id, component)
        push_ids = await _apply(session, service_id, component, change, actor)
    if not push_ids:
        return None
    verdicts = await settle(db, pusher, push_ids)
    refused = next((verdict for verdict in verdicts if verdict.refused), None)
    if refused is not None:
        await _revert(db, service_id, component, change, before, actor=actor, reason=refused.message)
        return refused
    return next((verdict for verdict in verdicts if verdict.pending), verdicts[0])
