"""Email delivery on SQLite, the embedded mode's database (`gaap up`): the worker's claim, retry and hand-over, and the
receipt webhook's conditional update, against the real SMTP sink and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from gaap.db import Database, utcnow
from gaap.db.migrate import upgrade
from gaap.embedded.sink_receipts import ReceiptSettings
from gaap.embedded.smtp_sink import SmtpSink
from gaap.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.notify.app import create_app
from services.notify.delivery import tasks
from services.notify.notifications.models import Notification
from services.notify.settings import NotifySettings
from services.notify.tenancy.models import NotifyService
from services.notify.worker import DeliverySettings, worker_spec
from tests.gateway.conftest import MASTER
from tests.notify.conftest import EMAIL_RECEIPT_PASSWORD, EMAIL_RECEIPT_USER, ROOT, notify_settings
from tests.notify.delivery.support import RecordedJobs, copies_stored, eventually, stored, unique_address
from tests.support import serve_in_thread


def through_gateway(app: ASGIApp) -> ASGIApp:
    """Plays the gateway's part for an anonymous path: the request arrives with an anonymous principal token."""
    signer = PrincipalSigner(parse_keyring(MASTER))

    async def forwarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = signer.sign("notify", Principal(request_id=uuid.uuid4().hex))
            scope = {**scope, "headers": [*scope["headers"], (PRINCIPAL_HEADER.encode(), token.encode())]}
        await app(scope, receive, send)

    return forwarded


@dataclass
class SqliteNotify:
    db: Database
    settings: NotifySettings
    service_id: uuid.UUID
    sink: SmtpSink


@pytest.fixture
def sqlite_settings(tmp_path: Path, redis_url: str) -> NotifySettings:
    return notify_settings(f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}", redis_url, "http://127.0.0.1")


@pytest.fixture
def receipts_url(sqlite_settings: NotifySettings) -> Iterator[str]:
    asyncio.run(upgrade(ROOT / "services" / "notify" / "migrations", sqlite_settings.database_url))
    with serve_in_thread(through_gateway(create_app(sqlite_settings))) as url:
        yield f"{url}/notifications/email/smtp"


@pytest.fixture
async def embedded(sqlite_settings: NotifySettings, receipts_url: str, tmp_path: Path) -> AsyncIterator[SqliteNotify]:
    db = Database(sqlite_settings.database_url, pool_size=2)
    service_id = uuid.uuid4()
    async with db.write_session() as session:
        session.add(
            NotifyService(id=service_id, name="Embedded", email_sender_local_part="embedded", permissions=["email"])
        )
    receipts = ReceiptSettings(
        receipts_url, EMAIL_RECEIPT_USER, EMAIL_RECEIPT_PASSWORD, delay_seconds=0.0, retry_seconds=0.05
    )
    with SmtpSink(tmp_path / "mail", receipts=receipts) as sink:
        settings = sqlite_settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{sink.port}")})
        yield SqliteNotify(db, settings, service_id, sink)
    await db.dispose()


async def add_email(notify: SqliteNotify, to: str) -> str:
    now = utcnow()
    ident = uuid.uuid4()
    async with notify.db.write_session() as session:
        session.add(
            Notification(
                id=ident,
                service_id=notify.service_id,
                key_type="normal",
                notification_type="email",
                to=to,
                normalised_to=to,
                status="created",
                body="Hello from SQLite",
                subject="Embedded",
                created_at=now,
                next_attempt_at=now,
            )
        )
    return str(ident)


async def status_of(db: Database, ident: str) -> tuple[str, int]:
    async with db.read_session() as session:
        row = await session.get(Notification, uuid.UUID(ident))
        assert row is not None
        return row.status, row.attempt


async def deliver_all(notify: SqliteNotify, *idents: str) -> RecordedJobs:
    jobs = RecordedJobs()
    worker = worker_spec(notify.settings, DeliverySettings())
    ctx: dict[str, Any] = {"jobs": jobs}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    try:
        for ident in idents:
            await tasks.deliver(ctx, ident)
        for task, ident, _lane, _due in list(jobs.queued):  # the immediate retries
            await getattr(tasks, task)(ctx, ident)
    finally:
        await worker.on_shutdown(ctx)
    return jobs


async def test_email_on_sqlite_is_delivered_retried_or_failed_once_each(embedded: SqliteNotify) -> None:
    delivered = await add_email(embedded, unique_address("ada"))
    retried = await add_email(embedded, unique_address("smtp-fail-temporary-1"))
    refused = await add_email(embedded, unique_address("smtp-fail-permanent"))
    jobs = await deliver_all(embedded, delivered, retried, refused)
    assert [(task, ident, lane) for task, ident, lane, _ in jobs.queued] == [("deliver", retried, "retry")]

    async def settled() -> bool:
        return {await status_of(embedded.db, i) for i in (delivered, retried)} == {("delivered", 1), ("delivered", 2)}

    await eventually(settled)
    assert await status_of(embedded.db, refused) == ("technical-failure", 1)
    assert [copies_stored(embedded.sink, i) for i in (delivered, retried, refused)] == [1, 1, 0]
    email = stored(embedded.sink, delivered)
    assert email is not None and email.sender == "Embedded <embedded@notifications.gaap.test>"

    async def receipts_counted() -> bool:  # counted by the sink once notify has answered
        return bool(embedded.sink.stats()["receipts_sent"] == 2)

    await eventually(receipts_counted)


async def test_a_job_delivered_five_times_at_once_sends_once_on_sqlite(embedded: SqliteNotify) -> None:
    """SQLite has no row locks: the claim is one UPDATE in a `BEGIN IMMEDIATE` transaction, so one job wins."""
    ident = await add_email(embedded, unique_address("grace"))
    worker = worker_spec(embedded.settings, DeliverySettings())
    ctx: dict[str, Any] = {"jobs": RecordedJobs()}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    try:
        await asyncio.gather(*(tasks.deliver(ctx, ident) for _ in range(5)))
    finally:
        await worker.on_shutdown(ctx)

    async def delivered() -> bool:
        return await status_of(embedded.db, ident) == ("delivered", 1)

    await eventually(delivered)
    assert copies_stored(embedded.sink, ident) == 1
    assert embedded.sink.stats()["duplicates"] == 0
