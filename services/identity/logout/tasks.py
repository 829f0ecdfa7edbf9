"""Delivering back-channel logout tokens from the outbox (spec §7.4), in the identity worker.

Each attempt claims the row (a lease), POSTs a freshly signed token with a 5 s timeout and no transaction open,
and records the outcome with a conditional update. Any 2xx is done; otherwise it retries 10 s, 60 s and 5 minutes
later, then gives up and records `backchannel_logout_failed` in the security-event log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import JobQueue, Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from services.identity.events import record
from services.identity.keys.ring import KeyRing
from services.identity.logout.models import FAILED, PENDING, SENT, BackChannelLogout
from services.identity.logout.service import LANE, TASK, logout_token
from services.identity.settings import IdentitySettings

log = get_logger("identity.logout")
LEASE = timedelta(seconds=30)
RETRIES = (timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5))


async def send_backchannel_logout(ctx: dict[str, Any], ident: str) -> None:
    db: Database = ctx["db"]
    settings: IdentitySettings = ctx["settings"]
    async with db.write_session() as session:
        row = await claim(session, BackChannelLogout, ident, expected_status=PENDING, lease=LEASE)
    if row is None:
        return
    keys = await ctx["keys"].current()
    token = logout_token(keys, settings.issuer_url, row.client_id, row.sub, settings.logout_token_ttl)
    http: httpx.AsyncClient = ctx["http"]
    try:
        response = await http.post(row.uri, data={"logout_token": token})
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    async with db.write_session() as session:
        if error is None:
            await transition(
                session, BackChannelLogout, row.id, from_status=PENDING, to_status=SENT, expected_attempt=row.attempt
            )
            return
        if row.attempt > len(RETRIES):
            moved = await transition(
                session,
                BackChannelLogout,
                row.id,
                from_status=PENDING,
                to_status=FAILED,
                expected_attempt=row.attempt,
                last_error=error,
            )
            if moved:
                record(session, "backchannel_logout_failed", client_id=row.client_id, error=error)
            return
        when = utcnow() + RETRIES[row.attempt - 1]
        await retry_at(
            session,
            BackChannelLogout,
            row.id,
            status=PENDING,
            when=when,
            error=error,
            expected_attempt=row.attempt,
            last_error=error,
        )
    jobs: JobQueue = ctx["jobs"]
    await jobs.enqueue(TASK, row.id, lane=LANE, defer_until=when)


def sweeps() -> list[Sweep]:
    return [
        Sweep("backchannel-logouts", BackChannelLogout, [PENDING], task=TASK, lane=LANE, grace=timedelta(minutes=2))
    ]


async def open_resources(ctx: dict[str, Any], settings: IdentitySettings) -> None:
    ctx["keys"] = KeyRing(ctx["db"], settings.key_refresh_seconds)
    ctx["http"] = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
