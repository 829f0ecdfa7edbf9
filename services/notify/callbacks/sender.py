"""Sending an owed callback (notify spec §14, §14.1): the `deliver_callback` job of the `callbacks` lanes.

The job claims the outbox row (a lease longer than the 5 s timeout), POSTs its stored body to the service's
current URL with the bearer token and a fresh signature, logs the attempt, and then, fenced by its claim:
`delivered` on a 2xx; another try on a connection error, a timeout, a 5xx or a 429; `failed` (a dead letter,
kept with its log) on any other answer or once the retries are spent.

Retry schedule: GOV.UK's compatible one (§14), up to 5 retries, 300 s apart, on the `callbacks-retry` lane, so
six attempts over 25 minutes. The schedule lives in the row (`attempt`, `next_attempt_at`), so it survives
restarts, and the sweep re-queues a row whose job was lost.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from gaap.db.engine import Database
from gaap.jobs import Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from gaap.webhooks import sign
from services.notify.callbacks.models import DELIVERED, FAILED, PENDING, CallbackAttempt, CallbackConfig
from services.notify.callbacks.models import CallbackDelivery as Delivery
from services.notify.callbacks.outbox import LANE, TASK
from services.notify.delivery.providers import Ctx, clock

log = get_logger("notify.callbacks")

#: §14: each POST gives up after 5 s.
TIMEOUT_SECONDS = 5.0
#: Longer than one POST, so a second worker never joins a slow one.
LEASE = timedelta(seconds=30)
RETRY_LANE = "callbacks-retry"
#: §14's compatible schedule: up to 5 retries, 300 s apart.
MAX_RETRIES = 5
RETRY_INTERVAL = timedelta(seconds=300)
#: The ctx key of the worker's pooled HTTP client.
HTTP = "callbacks_http"
#: The sweep is the outbox's relay: rows that no one queued after their commit (the receipt and inbound webhooks
#: never do) are sent within about `SWEEP_EVERY` + `SWEEP_GRACE`.
SWEEP_EVERY = timedelta(seconds=5)
SWEEP_GRACE = timedelta(seconds=2)
MAX_ERROR_CHARS = 500


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)


def retryable(status_code: int | None) -> bool:
    """§14: connection errors and timeouts (no status), 5xx and 429 are retried; any other answer is final."""
    return status_code is None or status_code >= 500 or status_code == 429


def headers(delivery: Delivery, config: CallbackConfig, body: bytes) -> dict[str, str]:
    """§14.1. Signed with the wall clock, which receivers compare theirs with (not the worker's scheduling clock)."""
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {config.bearer_token}",
        "X-Notify-Timestamp": str(timestamp),
        "X-Notify-Signature": sign(
            body, config.live_secrets(datetime.fromtimestamp(timestamp, UTC)), timestamp=timestamp
        ),
        "X-Notify-Event-Id": str(delivery.id),
        "X-Notify-Attempt": str(delivery.attempt),
    }


async def post(client: httpx.AsyncClient, url: str, body: bytes, head: dict[str, str]) -> tuple[int | None, str | None]:
    """(status code, error): an answer has a code; a connection error or timeout has only an error."""
    try:
        response = await client.post(url, content=body, headers=head)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    if response.is_success:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def deliver_callback(ctx: Ctx, ident: str) -> None:
    """Send one owed callback, once per due attempt however many times its job is delivered."""
    db: Database = ctx["db"]
    async with db.write_session() as session:
        delivery = await claim(session, Delivery, ident, expected_status=PENDING, lease=LEASE, now=clock(ctx))
        config = None
        if delivery is not None:
            config = await session.scalar(
                select(CallbackConfig).where(
                    CallbackConfig.service_id == delivery.service_id,
                    CallbackConfig.callback_type == delivery.callback_type,
                )
            )
    if delivery is None:
        return  # another worker holds it, it is not due, or it is settled: a duplicate job
    if config is None:  # the service removed its callback since: nobody to tell
        await _settle(db, delivery, FAILED, "no callback is configured any more", clock(ctx))
        return
    body = delivery.body.encode()
    started = time.monotonic()
    status_code, error = await post(ctx[HTTP], config.url, body, headers(delivery, config, body))
    now = clock(ctx)
    attempt = CallbackAttempt(
        delivery_id=delivery.id,
        attempt=delivery.attempt,
        status_code=status_code,
        error=error,
        attempted_at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if error is None:
        await _settle(db, delivery, DELIVERED, None, now, attempt)
    elif retryable(status_code) and delivery.attempt <= MAX_RETRIES:
        await _retry(ctx, delivery, error, now, attempt)
    else:
        await _settle(db, delivery, FAILED, error, now, attempt)
        log.warning("notify.callbacks.failed", id=ident, attempt=delivery.attempt, error=error)


async def _settle(
    db: Database, delivery: Delivery, status: str, error: str | None, now: datetime, *attempts: CallbackAttempt
) -> None:
    async with db.write_session() as session:
        session.add_all(attempts)
        await transition(
            session,
            Delivery,
            delivery.id,
            from_status=PENDING,
            to_status=status,
            expected_attempt=delivery.attempt,
            last_error=error,
            updated_at=now,
        )


async def _retry(ctx: Ctx, delivery: Delivery, error: str, now: datetime, attempt: CallbackAttempt) -> None:
    due = now + RETRY_INTERVAL
    async with ctx["db"].write_session() as session:
        session.add(attempt)
        scheduled = await retry_at(
            session,
            Delivery,
            delivery.id,
            status=PENDING,
            when=due,
            error=error,
            expected_attempt=delivery.attempt,
            last_error=error,
            updated_at=now,
        )
    if scheduled:
        await ctx["jobs"].enqueue(TASK, delivery.id, lane=RETRY_LANE, defer_until=due)


def sweep() -> Sweep:
    """Every 5 s: relay owed callbacks nobody queued, and re-queue those whose job was lost."""
    return Sweep("callbacks", Delivery, [PENDING], TASK, LANE, grace=SWEEP_GRACE, every=SWEEP_EVERY)
