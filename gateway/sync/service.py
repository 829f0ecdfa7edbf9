"""Scheduling and delivering tenant pushes.

`schedule` runs inside the transaction that changed the tenant. `deliver_pending` runs after the commit (from the
admin API as a background task, from the CLI inline) so a change normally reaches the services at once; the
gateway worker's sweeper delivers anything that was not (a service down, a crash between commit and delivery).
A service that answers 4xx has refused the document: the push is marked rejected with its message, for the
console to show, and is not retried. Anything else is retried with backoff. A console form that must show the
component's verdict delivers its pushes before it answers instead, through `settle.settle`.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.internal import INTERNAL_SCOPE
from gaap.jobs import claim, retry_at, transition
from gaap.principal import Principal, PrincipalSigner
from gateway.settings import GatewaySettings
from gateway.sync.documents import DOCUMENTS
from gateway.sync.models import DELIVERED, PENDING, REJECTED, SUPERSEDED, TenantPush
from gateway.tenants import repository as tenant_repo
from gateway.tenants.models import Service
from gateway.tenants.secrets import opened

log = structlog.get_logger("gateway.sync")
LEASE = timedelta(seconds=30)
TIMEOUT = aiohttp.ClientTimeout(total=10)
#: Retry delays: quick at first (a service restarting), then every 5 minutes.
BACKOFF = (1, 5, 15, 60, 300)


def _version() -> int:
    """Microseconds since the epoch: increases across processes without coordination."""
    return time.time_ns() // 1000


async def schedule(session: AsyncSession, service: Service) -> list[TenantPush]:
    """Queue this service's current state for every component, superseding pushes not yet delivered."""
    team = await tenant_repo.list_members(session, service.id)
    version = _version()
    pushes = []
    for component, (path_template, build) in DOCUMENTS.items():
        path = path_template.format(id=service.id)
        await session.execute(
            update(TenantPush)
            .where(TenantPush.component == component, TenantPush.path == path, TenantPush.status == PENDING)
            .values(status=SUPERSEDED)
        )
        push = TenantPush(
            id=uuid.uuid4(),
            component=component,
            path=path,
            service_id=service.id,
            version=version,
            document=build(service, team, version),
            status=PENDING,
        )
        session.add(push)
        pushes.append(push)
    await session.flush()
    return pushes


class Pusher:
    """Delivers pushes over HTTP with a principal token for the component's audience."""

    def __init__(self, db: Database, upstreams: dict[str, str], signer: PrincipalSigner) -> None:
        self.db = db
        self.upstreams = upstreams
        self.signer = signer
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: GatewaySettings) -> Pusher:
        """A pusher for every component, signing as the gateway (`settings` is the gateway's)."""
        return cls(db, settings.upstreams, settings.principal_signer())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def deliver(self, push_id: uuid.UUID | str) -> str | None:
        """Deliver one push; returns its new status, or None if it was not ours to deliver."""
        async with self.db.write_session() as session:
            push = await claim(session, TenantPush, uuid.UUID(str(push_id)), expected_status=PENDING, lease=LEASE)
            if push is None:
                return None
            component, path, document, attempt = push.component, push.path, push.document, push.attempt
            service_id = push.service_id
        principal = Principal(
            request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=frozenset({INTERNAL_SCOPE})
        )
        headers = {"X-Gaap-Principal": self.signer.sign(component, principal), "X-Request-ID": principal.request_id}
        try:
            async with self._http().put(
                self.upstreams[component] + path, json=opened(document), headers=headers
            ) as resp:
                body = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return await self._retry(push_id, attempt, f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return await self._finish(push_id, attempt, DELIVERED, None)
        if 400 <= status < 500:
            log.warning("tenant push refused", component=component, path=path, status=status, answer=body[:500])
            return await self._finish(push_id, attempt, REJECTED, body[:2000])
        return await self._retry(push_id, attempt, f"HTTP {status}: {body[:500]}")

    async def _finish(self, push_id: Any, attempt: int, status: str, error: str | None) -> str:
        async with self.db.write_session() as session:
            await transition(
                session,
                TenantPush,
                push_id,
                from_status=PENDING,
                to_status=status,
                expected_attempt=attempt,
                last_error=error,
                delivered_at=utcnow() if status == DELIVERED else None,
            )
        return status

    async def _retry(self, push_id: Any, attempt: int, error: str) -> str:
        delay = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        async with self.db.write_session() as session:
            await retry_at(
                session,
                TenantPush,
                push_id,
                status=PENDING,
                when=utcnow() + timedelta(seconds=delay),
                error=error,
                expected_attempt=attempt,
                last_error=error[:2000],
            )
        return PENDING

    async def deliver_pending(self, service_id: uuid.UUID | None = None) -> dict[str, int]:
        """Deliver every due push (of one service, or all) to the components this pusher knows; returns a count
        per resulting status."""
        async with self.db.read_session() as session:
            query = select(TenantPush.id).where(
                TenantPush.status == PENDING,
                TenantPush.next_attempt_at <= utcnow(),
                TenantPush.component.in_(list(self.upstreams)),
            )
            if service_id is not None:
                query = query.where(TenantPush.service_id == service_id)
            ids = list((await session.execute(query.order_by(TenantPush.created_at))).scalars())
        counts: dict[str, int] = {}
        for push_id in ids:
            outcome = await self.deliver(push_id)
            if outcome is not None:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts
