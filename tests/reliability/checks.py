"""Load and ledgers for the scenarios: texts sent through the gateway, and what the fake SMS provider and notify's
database say happened to each one."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import ColumnElement, func, select

from gaap.db.base import utcnow
from gaap.embedded.inbox import SMS_DB_FILE
from services.notify.notifications.models import Notification
from tests.reliability.rig import Platform

#: Ofcom's drama range, numbers that can never reach a phone, away from the ones notify simulates (…000, …111, …222
#: are smoke-test numbers, never stored) and the ones the fake provider fails (…002, …003): each is `delivered`.
PHONE = "07700900{:03d}"
FIRST_NUMBER, NUMBERS = 400, 500


@dataclass
class Sent:
    """The outcome of a load run: the ids of accepted texts, and every refusal by status and body."""

    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)


async def send_texts(platform: Platform, count: int, *, concurrency: int = 32, label: str = "run") -> Sent:
    """Send `count` texts through the gateway with the live key, `concurrency` at a time."""
    assert platform.tenant is not None
    sent = Sent()
    numbers = iter(range(count))
    template = platform.tenant.sms_template

    async def one_by_one(client: httpx.AsyncClient) -> None:
        for n in numbers:
            body = {
                "phone_number": PHONE.format(FIRST_NUMBER + n % NUMBERS),
                "template_id": template,
                "personalisation": {"ref": f"{label}-{n}"},
                "reference": f"{label}-{n}",
            }
            try:
                answer = await client.post("/v2/notifications/sms", json=body)
            except httpx.HTTPError as exc:
                sent.refused[f"transport {type(exc).__name__}"] += 1
                continue
            if answer.status_code == 201:
                sent.accepted.append(answer.json()["id"])
            else:
                sent.refused[f"{answer.status_code} {answer.text[:200]}"] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with platform.notify_client(timeout=30, limits=limits) as client:
        await asyncio.gather(*(one_by_one(client) for _ in range(concurrency)))
    return sent


def provider_copies(platform: Platform) -> Counter[str]:
    """Reference (the notification id) -> how many copies the fake SMS provider holds, across both providers."""
    with sqlite3.connect(platform.workdir / "sms" / SMS_DB_FILE, timeout=10) as conn:
        rows = conn.execute("SELECT reference, count(*) FROM messages GROUP BY reference").fetchall()
    return Counter(dict(rows))


async def notification_statuses(platform: Platform, ids: list[str]) -> Counter[str]:
    db = platform.database("notify")
    try:
        async with db.read_session() as session:
            rows = (
                await session.execute(
                    select(Notification.status, func.count()).where(_among(ids)).group_by(Notification.status)
                )
            ).all()
    finally:
        await db.dispose()
    return Counter(dict(rows))


async def describe(platform: Platform, ids: list[str]) -> list[tuple[object, ...]]:
    """Where some notifications stand: (status, attempt, seconds until due, provider pinned, count)."""
    db = platform.database("notify")
    columns = (Notification.status, Notification.attempt, Notification.next_attempt_at, Notification.sent_by)
    try:
        async with db.read_session() as session:
            rows = (await session.execute(select(*columns).where(_among(ids)))).all()
    finally:
        await db.dispose()
    now = utcnow()
    where = Counter(
        (status, attempt, round((due - now).total_seconds()) if due else None, sent_by)
        for status, attempt, due, sent_by in rows
    )
    return [(*key, n) for key, n in where.most_common(10)]


def _among(ids: list[str]) -> ColumnElement[bool]:
    """`id IN (...)` in either database (the GUID type binds a UUID natively on PostgreSQL, as text on SQLite)."""
    return Notification.id.in_([uuid.UUID(ident) for ident in ids])


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g}s: {what}")
        await asyncio.sleep(interval)


async def assert_each_delivered_once(platform: Platform, ids: list[str], within: float) -> None:
    """Every id reaches the provider exactly once and ends `delivered` in notify, within `within` seconds."""
    wanted = set(ids)

    async def all_at_provider() -> bool:
        platform.check_alive()
        return wanted <= set(provider_copies(platform))

    try:
        await eventually(all_at_provider, within, "every accepted text at the provider")
    finally:
        copies = provider_copies(platform)
        missing = wanted - set(copies)
        twice = {reference: n for reference, n in copies.items() if n > 1}
        assert not twice, f"{len(twice)} texts reached the provider more than once: {list(twice.items())[:5]}"
        if missing:
            where = await describe(platform, sorted(missing))
            raise AssertionError(f"{len(missing)} accepted texts never reached the provider: {where}")

    async def all_delivered() -> bool:
        return (await notification_statuses(platform, ids))["delivered"] == len(ids)

    try:
        await eventually(all_delivered, within, "every text `delivered` in notify")
    finally:
        statuses = await notification_statuses(platform, ids)
        assert statuses == Counter({"delivered": len(ids)}), statuses
