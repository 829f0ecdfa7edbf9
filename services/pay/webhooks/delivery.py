"""Delivering webhook messages (pay spec §12, §12.1): the `deliver_webhook` job on the `webhooks` lane.

Each attempt is a leased claim of the message row, one POST with no transaction open, then one transaction that
logs the attempt and moves the message on: `SUCCESSFUL` on any 2xx; after anything else (3xx is not followed,
timeouts, refused connections) a retry 60 s, 5 min, 1 h, 1 day and 2 days later, then `FAILED` after the sixth
attempt. Every attempt is signed afresh with its own time, so a captured request cannot be replayed after 300 s.
The callback host is resolved and checked (§12: no loopback, private or metadata address, unless the operator allows
them for test accounts), and the request goes to the address that was checked.

The outbox relay is a sweep: messages are written inside other transactions (API requests, payment pages, the
provider lane) that have no queue at hand, so a sweep every few seconds queues whatever is due and not leased.
It is also what re-queues a delivery whose job was lost, and a duplicate job only loses the claim.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import delete, select

from gaap import webhooks as signatures
from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Cron, JobQueue, Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from services.pay.settings import PaySettings
from services.pay.webhooks.models import Webhook, WebhookAttempt, WebhookMessage
from services.pay.webhooks.outbox import FAILED_STATUS, PENDING, SUCCESSFUL, WILL_NOT_SEND

log = get_logger("pay.webhooks")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Ctx = dict[str, Any]

LANE = "webhooks"
# A claim's lease is `PaySettings.webhook_lease`: longer than an attempt (the webhook timeout plus the lookup), so a
# slow attempt is never joined by a second worker.
#: §12: the pause after each failed attempt; one more attempt than pauses, then the message has failed.
RETRY_DELAYS = (
    timedelta(seconds=60),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: How often the relay looks for due messages: the most a new message waits before its first attempt.
RELAY_EVERY = timedelta(seconds=5)
#: §12: attempts are shown for 7 days; finished messages and their log go after that.
RETENTION = timedelta(days=7)
USER_AGENT = "gaap-pay-webhooks/1"
#: A name that takes longer than this to resolve is a failed attempt (the lookup runs in a thread, outside httpx's
#: timeout).
RESOLVE_TIMEOUT_SECONDS = 3.0


def http_client(settings: PaySettings) -> httpx.AsyncClient:
    """One client per worker process: no redirects followed (§12), the §12 timeout, no proxy from the environment,
    and no kept-alive connections, since requests go to pinned addresses and two callback hosts may share one."""
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def signed_headers(hook: Webhook, body: bytes, now: datetime) -> dict[str, str]:
    """`Pay-Signature` (GOV.UK Pay's, one secret) and `Pay-Signature-V2` (one `v1` per live secret, §12.1)."""
    legacy = hmac.new(hook.legacy_secret(now).encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Pay-Signature": legacy,
        "Pay-Signature-V2": signatures.sign(body, hook.live_secrets(now), timestamp=int(now.timestamp())),
    }


@dataclass(frozen=True)
class Target:
    """Where an attempt goes: the callback URL with its host replaced by the address that was checked, so the
    connection cannot reach another address than the one the SSRF check saw (no second DNS lookup, so no DNS
    rebinding); the name still goes in `Host` and in TLS SNI and certificate checks."""

    url: str
    host: str
    server_name: str


def pin(url: str, address: IPAddress) -> Target:
    parts = urlsplit(url)
    name = parts.hostname or ""
    literal = f"[{address}]" if address.version == 6 else str(address)
    named = f"[{name}]" if ":" in name else name
    port = f":{parts.port}" if parts.port else ""
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{literal}{port}"
    return Target(urlunsplit(parts._replace(netloc=netloc)), named + port, name)


class Undeliverable(Exception):
    """Why no attempt can be made: `final` when none ever will be (a refused address), else worth a retry."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.final = final


async def resolve(url: str, *, public_only: bool) -> Target:
    """The pinned target of `url`. With `public_only`, an address that is not public (loopback, private,
    link-local, cloud metadata, reserved) is refused for good (§12, SSRF)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise Undeliverable("the callback host did not resolve in time", final=False) from None
    except OSError as exc:
        raise Undeliverable(f"the callback host could not be resolved: {exc}", final=False) from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if public_only and not address.is_global:
            raise Undeliverable(f"the callback host resolves to a non-public address ({address})", final=True)
    if not addresses:
        raise Undeliverable("the callback host has no address", final=False)
    # One address is called (no fallback between them); IPv4 first, since more receivers listen on it.
    return pin(url, min(addresses, key=lambda address: address.version))


async def _post(client: httpx.AsyncClient, hook: Webhook, target: Target, body: bytes) -> tuple[int | None, str | None]:
    """One attempt: the status code (if an answer came) and why it failed (None on success)."""
    headers = {**signed_headers(hook, body, utcnow()), "Host": target.host}
    try:
        async with client.stream(
            "POST", target.url, content=body, headers=headers, extensions={"sni_hostname": target.server_name}
        ) as response:
            code = response.status_code
    except httpx.TimeoutException:
        return None, "timed out"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= code < 300:
        return code, None
    if 300 <= code < 400:
        return code, f"HTTP {code}: redirects are not followed"
    return code, f"HTTP {code}"


async def _finish(
    db: Database, message: WebhookMessage, *, status: str | None, code: int | None, error: str | None
) -> datetime | None:
    """Log the attempt and move the message on: to `status`, or (None) to its next retry, whose time is
    returned."""
    now = utcnow()
    retry = None
    async with db.write_session() as session:
        session.add(
            WebhookAttempt(
                message_id=message.id,
                attempt=message.attempt,
                attempted_at=now,
                status_code=code,
                success=status == SUCCESSFUL,
                error=error,
            )
        )
        if status is None and message.attempt >= MAX_ATTEMPTS:
            status = FAILED_STATUS
        if status is not None:
            await transition(
                session,
                WebhookMessage,
                message.id,
                from_status=PENDING,
                to_status=status,
                expected_attempt=message.attempt,
                updated_at=now,
            )
        else:
            retry = now + RETRY_DELAYS[message.attempt - 1]
            await retry_at(
                session,
                WebhookMessage,
                message.id,
                status=PENDING,
                when=retry,
                error=error or "",
                expected_attempt=message.attempt,
            )
    if status == FAILED_STATUS:
        log.warning("webhook message failed", message_id=message.id, attempts=message.attempt, error=error)
    return retry


async def deliver_webhook(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    async with db.write_session() as session:
        message = await claim(session, WebhookMessage, ident, expected_status=PENDING, lease=settings.webhook_lease)
        if message is None:
            return  # a duplicate job, or not due yet
        hook = await session.get(Webhook, message.webhook_id)
        assert hook is not None
    if not hook.active:
        await _finish(db, message, status=WILL_NOT_SEND, code=None, error="the webhook is inactive")
        return
    public_only = not (hook.mode == "test" and settings.webhook_allow_private_test)
    try:
        target = await resolve(hook.callback_url, public_only=public_only)
    except Undeliverable as exc:
        retry = await _finish(db, message, status=WILL_NOT_SEND if exc.final else None, code=None, error=str(exc))
    else:
        code, error = await _post(ctx["webhook_http"], hook, target, message.body.encode())
        retry = await _finish(db, message, status=SUCCESSFUL if error is None else None, code=code, error=error)
    if retry is not None:
        jobs: JobQueue = ctx["jobs"]
        await jobs.enqueue("deliver_webhook", ident, lane=LANE, defer_until=retry)


async def purge_log(ctx: Ctx, *, now: datetime | None = None) -> None:
    """Finished messages and their attempts older than `RETENTION` (§12's 7 days). Pending ones are kept: the
    retry schedule ends within 4 days, so none is that old unless the worker was down."""
    db: Database = ctx["db"]
    cutoff = (now or utcnow()) - RETENTION
    old = select(WebhookMessage.id).where(WebhookMessage.created_at < cutoff, WebhookMessage.status != PENDING)
    async with db.write_session() as session:
        await session.execute(delete(WebhookAttempt).where(WebhookAttempt.message_id.in_(old)))
        await session.execute(delete(WebhookMessage).where(WebhookMessage.id.in_(old)))


def sweeps() -> list[Sweep]:
    """The outbox relay: due, unleased messages are queued every `RELAY_EVERY` (no grace, since the API processes
    that write them do not enqueue them; a leased message is never due, so a running attempt is never doubled)."""
    return [Sweep("webhooks", WebhookMessage, [PENDING], "deliver_webhook", LANE, timedelta(0), every=RELAY_EVERY)]


def cron() -> list[Cron]:
    return [Cron("webhook-log", purge_log, every=timedelta(hours=1))]
