"""The callbacks tests' fixtures: a real HTTP receiver that checks what a service would check (the bearer token
and the §14.1 signature, with `gaap.webhooks.verify`), records every attempt and can fail the first N; and a
service of its own in the rig's notify database, so its callbacks never touch the rig's shared service."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from gaap_client import InvalidSignature, verify_webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gaap.db import Database, utcnow
from gaap.jobs import Enqueue
from gaap.webhooks import SignatureError, verify
from services.notify.callbacks import sender
from services.notify.callbacks.config import CallbackSetting, apply_callbacks
from services.notify.callbacks.models import DELIVERY_STATUS, INBOUND_SMS
from services.notify.delivery.providers import CLOCK
from services.notify.notifications.models import Notification
from services.notify.tenancy.models import NotifyService
from tests.notify.conftest import NotifyRig
from tests.support import serve_in_thread

TOKEN = "a-bearer-token-of-the-service"


@dataclass
class Attempt:
    body: bytes
    headers: dict[str, str]
    signature_ok: bool
    token_ok: bool
    answered: int

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """The service's end: answers `fail_with` to the first `fail_first` calls, then 200."""

    url: str = ""
    secret: str = ""
    fail_first: int = 0
    fail_with: int = 503
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, *, secret: str = "", fail_first: int = 0, fail_with: int = 503) -> None:
        with self.lock:
            self.secret, self.fail_first, self.fail_with, self.attempts = secret, fail_first, fail_with, []

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(request.headers.get("x-notify-signature"), body, [self.secret])
            verify_webhook(body, dict(request.headers), self.secret)  # what a department's receiver runs (the SDK)
            signature_ok = True
        except (SignatureError, InvalidSignature):
            signature_ok = False
        token_ok = request.headers.get("authorization") == f"Bearer {TOKEN}"
        with self.lock:
            answer = self.fail_with if len(self.attempts) < self.fail_first else 200
            self.attempts.append(Attempt(body, dict(request.headers), signature_ok, token_ok, answer))
        return JSONResponse({"ok": answer == 200}, status_code=answer)


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/callbacks", receiver.receive, methods=["POST"])])
    with serve_in_thread(app) as url:
        receiver.url = f"{url}/callbacks"
        yield receiver


@pytest.fixture
def receiver(receiver_server: Receiver) -> Iterator[Receiver]:
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
async def db(notify_rig: NotifyRig) -> AsyncIterator[Database]:
    database = Database(notify_rig.notify_db, pool_size=2)
    yield database
    await database.dispose()


async def add_service(db: Database, *, permissions: tuple[str, ...] = ("email", "sms", "inbound_sms")) -> uuid.UUID:
    ident = uuid.uuid4()
    async with db.write_session() as session:
        session.add(NotifyService(id=ident, name=f"Callbacks {ident.hex[:6]}", permissions=list(permissions)))
    return ident


async def configure(db: Database, service_id: uuid.UUID, url: str, *types: str) -> dict[str, str]:
    """Give the service callbacks of `types` (default both) at `url`; returns the secrets generated."""
    wanted = {kind: CallbackSetting(url=url, bearer_token=TOKEN) for kind in types or (DELIVERY_STATUS, INBOUND_SMS)}
    async with db.write_session() as session:
        return await apply_callbacks(session, service_id, dict(wanted), development=True)


@dataclass
class Configured:
    service_id: uuid.UUID
    secret: str


@pytest.fixture
async def service(db: Database, receiver: Receiver) -> Configured:
    """A service of its own whose delivery-status and inbound-text callbacks go to the receiver."""
    service_id = await add_service(db)
    secrets = await configure(db, service_id, receiver.url)
    receiver.reset(secret=secrets[DELIVERY_STATUS])
    return Configured(service_id, secrets[DELIVERY_STATUS])


async def add_notification(
    db: Database,
    service_id: uuid.UUID,
    *,
    status: str = "sending",
    notification_type: str = "sms",
    key_type: str = "test",
    created_at: datetime | None = None,
    attempt: int = 0,
) -> uuid.UUID:
    ident, now = uuid.uuid4(), created_at or utcnow()
    async with db.write_session() as session:
        session.add(
            Notification(
                id=ident,
                service_id=service_id,
                template_id=uuid.uuid4(),
                template_version=3,
                key_type=key_type,
                notification_type=notification_type,
                to="07700900123" if notification_type == "sms" else "someone@example.com",
                normalised_to="447700900123" if notification_type == "sms" else "someone@example.com",
                status=status,
                client_reference="ref-42",
                body="Hello",
                created_at=now,
                updated_at=now,
                sent_at=None if status == "created" else now,
                next_attempt_at=now,
                attempt=attempt,
            )
        )
    return ident


@dataclass
class RecordedJobs:
    """Stands in for the worker's `JobQueue` (and a sweep's) and keeps what is queued."""

    component: str = "notify"
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


@dataclass
class Clock:
    """The real time moved on by `offset`, so rows written with the real clock are due on this one."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
async def ctx(db: Database) -> AsyncIterator[dict[str, Any]]:
    """What the worker hands the handlers, with a clock the test moves and a recorder for the jobs they queue."""
    async with httpx.AsyncClient(timeout=sender.TIMEOUT_SECONDS) as client:
        yield {"db": db, "jobs": RecordedJobs(), sender.HTTP: client, CLOCK: Clock()}
