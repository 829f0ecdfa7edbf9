"""Helpers shared by the delivery tests: notify's worker run in-process against the rig (a real notify behind a real
gateway, PostgreSQL, Redis), the development SMTP sink and (where a test passes it) the fake SMS provider, and small
readers of the rows it changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import Any

from notifications_python_client.notifications import NotificationsAPIClient
from pydantic import SecretStr

from gaap.db import Database, utcnow
from gaap.embedded.inbox import EmailSummary, get_email, iter_maildir_files, normalise_message_id
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import Enqueue, JobQueue, WorkerSpec, serve
from services.notify.notifications.models import Notification
from services.notify.settings import NotifySettings
from services.notify.worker import DeliverySettings, worker_spec
from tests.notify.conftest import SMS_CREDENTIALS, NotifyRig, SmsFake, notify_settings

RECEIPT_DELAY = 0.2
PERSONALISATION = {"name": "Ada", "code": "123456"}
EMAIL_PERSONALISATION = {"name": "Ada", "date": "1 May", "urgent": ""}
EMAIL_DOMAIN = NotifySettings.model_fields["email_domain"].default


def worker_settings(rig: NotifyRig, sink: SmtpSink, *, sms: SmsFake | None = None, **overrides: Any) -> NotifySettings:
    """The rig's notify settings, delivering email to `sink` and texts to `sms`."""
    settings = notify_settings(rig.notify_db, rig.redis_url, "http://127.0.0.1")
    values: dict[str, Any] = {"smtp_url": SecretStr(f"smtp://127.0.0.1:{sink.port}")}
    if sms is not None:
        values |= {"sms_provider_url": sms.url, "sms_provider_credentials": SecretStr(SMS_CREDENTIALS)}
    return settings.model_copy(update={**values, **overrides})


def spec(rig: NotifyRig, sink: SmtpSink, *, sms: SmsFake | None = None, **overrides: Any) -> WorkerSpec:
    delivery = DeliverySettings(test_receipt_delay_seconds=RECEIPT_DELAY)
    return worker_spec(worker_settings(rig, sink, sms=sms, **overrides), delivery)


@asynccontextmanager
async def running_worker(
    rig: NotifyRig, sink: SmtpSink, *, sms: SmsFake | None = None, **overrides: Any
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(spec(rig, sink, sms=sms, **overrides), stop=stop, handle_signals=False))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(worker, 15)


@dataclass
class RecordedJobs:
    """Stands in for the worker's `JobQueue` where a test drives the handlers itself and keeps what they queue."""

    queued: list[tuple[str, str, str, datetime | None]] = field(default_factory=list)

    async def enqueue(
        self, task: str, ident: Any, *, lane: str, defer_until: datetime | None = None, dedupe_key: str | None = None
    ) -> bool:
        self.queued.append((task, str(ident), lane, defer_until))
        return True

    async def enqueue_many(self, jobs: Sequence[Enqueue]) -> bool:
        for job in jobs:
            await self.enqueue(job.task, job.ident, lane=job.lane, defer_until=job.defer_until)
        return True

    async def close(self) -> None:
        return None


@asynccontextmanager
async def handler_ctx(
    rig: NotifyRig, sink: SmtpSink, *, jobs: Any = None, sms: SmsFake | None = None, **overrides: Any
) -> AsyncIterator[dict[str, Any]]:
    """What the worker hands its handlers, for calling them directly."""
    worker = spec(rig, sink, sms=sms, **overrides)
    ctx: dict[str, Any] = {"jobs": jobs or JobQueue.from_url(rig.redis_url, "notify")}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    try:
        yield ctx
    finally:
        await worker.on_shutdown(ctx)
        await ctx["jobs"].close()


def client(rig: NotifyRig, key: str = "test") -> NotificationsAPIClient:
    return NotificationsAPIClient(rig.keys[key], base_url=rig.url)


async def row_of(db: Database, ident: str | uuid.UUID) -> Notification | None:
    async with db.read_session() as session:
        row = await session.get(Notification, uuid.UUID(str(ident)))
        if row is not None:
            session.expunge(row)  # keep its loaded values past the read session's rollback
        return row


async def eventually(check: Callable[[], Any], within: float = 10) -> Any:
    """Poll `check` (a coroutine function) until it returns something truthy."""
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110  (state in the database, changed by the worker)
            await asyncio.sleep(0.05)
    return result


async def final_in_api(api: NotificationsAPIClient, ident: str, within: float = 30) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        got: dict[str, Any] = await asyncio.to_thread(api.get_notification_by_id, ident)
        return got if got["status"] not in {"created", "sending", "accepted"} else None

    result: dict[str, Any] = await eventually(done, within)
    return result


async def status_becomes(db: Database, ident: str | uuid.UUID, status: str, within: float = 30) -> Notification:
    async def reached() -> Notification | None:
        row = await row_of(db, ident)
        return row if row is not None and row.status == status else None

    row: Notification = await eventually(reached, within)
    return row


async def insert_row(db: Database, rig: NotifyRig, **values: Any) -> uuid.UUID:
    """A notification written straight to the table, as if its enqueue had been lost (a test key's text unless
    `values` say otherwise)."""
    now = utcnow()
    row = Notification(
        id=uuid.uuid4(),
        service_id=rig.service_id,
        template_id=uuid.UUID(rig.templates["sms"]),
        template_version=1,
        key_type="test",
        notification_type="sms",
        to="07700900123",
        normalised_to="447700900123",
        status="created",
        personalisation=dict(PERSONALISATION),
        body="Hello Ada, your code is 123456",
        process_type="normal",
        created_at=now,
        next_attempt_at=now,
        attempt=0,
    )
    for name, value in values.items():
        setattr(row, name, value)
    async with db.write_session() as session:
        session.add(row)
    return row.id


async def insert_text(db: Database, rig: NotifyRig, **values: Any) -> uuid.UUID:
    """A live key's text, as the API stores it (to a number the fake SMS provider reports `delivered`)."""
    text: dict[str, Any] = {"key_type": "normal", "reply_to_text": "GOVUK", "billable_units": 1}
    return await insert_row(db, rig, **{**text, **values})


async def insert_email(db: Database, rig: NotifyRig, to: str, **values: Any) -> uuid.UUID:
    """A live key's email row, as the API stores it."""
    email: dict[str, Any] = {
        "key_type": "normal",
        "notification_type": "email",
        "template_id": uuid.UUID(rig.templates["email"]),
        "to": to,
        "normalised_to": to.lower(),
        "body": "# Hello Ada\n\nYour appointment is on 1 May.",
        "subject": "Your appointment on 1 May",
        "personalisation": dict(EMAIL_PERSONALISATION),
    }
    return await insert_row(db, rig, **{**email, **values})


def unique_address(local: str) -> str:
    """An address the sink treats as `local` (its fault patterns ignore the `+tag`), unique to this test."""
    return f"{local}+{uuid.uuid4().hex[:10]}@example.com"


def stored(sink: SmtpSink, ident: str | uuid.UUID) -> EmailSummary | None:
    return get_email(sink.maildir, f"{ident}@{EMAIL_DOMAIN}")


def copies_stored(sink: SmtpSink, ident: str | uuid.UUID) -> int:
    """How many messages with this notification's Message-ID the sink stored."""
    wanted = f"{ident}@{EMAIL_DOMAIN}"
    parser = BytesHeaderParser()
    found = 0
    for path in iter_maildir_files(sink.maildir):
        with open(path, "rb") as fh:
            found += normalise_message_id(parser.parse(fh).get("Message-ID")) == wanted
    return found
