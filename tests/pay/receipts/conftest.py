"""The confirmation-email rig: the pay rig (a real pay behind a real gateway), the notify rig (a real notify behind
its own real gateway) with the platform's pay service in it, as the seed step makes it (a live Notify key with
`manage_templates`), notify's worker delivering to the development SMTP sink, and pay's worker sending through
`NotifyDoor`, a fake HTTP server in front of notify's gateway that can be unreachable or lose answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gaap.db.engine import Database
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import serve
from gaap.principal import PrincipalSigner
from gaap.settings import parse_keyring
from gateway.keys.service import KeyMaterial, create_key
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants
from services.pay.receipts.models import ConfirmationEmail
from services.pay.worker import worker_spec
from tests.gateway.conftest import MASTER, make_settings
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import running_worker
from tests.pay.conftest import PayRig
from tests.support import serve_in_thread


@dataclass
class NotifyDoor:
    """Forwards to notify's gateway, except: the next `down` requests get 503 without reaching notify (notify is
    unreachable), and the next `lost` email sends reach notify but their answers are replaced by a 502."""

    target: str
    down: int = 0
    lost: int = 0
    email_sends: int = 0
    url: str = ""

    def reset(self) -> None:
        self.down = self.lost = self.email_sends = 0

    async def forward(self, request: Request) -> Response:
        if self.down > 0:
            self.down -= 1
            return Response(status_code=503)
        sending = request.method == "POST" and request.url.path == "/v2/notifications/email"
        self.email_sends += sending
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "idempotency-key")}
        async with httpx.AsyncClient(base_url=self.target, timeout=30) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                params=request.query_params,
                content=await request.body(),
                headers={**headers, "Content-Type": request.headers.get("content-type", "application/json")},
            )
        if sending and self.lost > 0:
            self.lost -= 1
            return Response(status_code=502)
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")


@pytest.fixture(scope="session")
def pay_notify_key(notify_rig: NotifyRig, upstreams: dict[str, str]) -> str:
    """The platform's pay service in notify's gateway: a live key with `manage_templates`, pushed to notify."""

    async def make() -> str:
        db = Database(notify_rig.gateway_db, pool_size=1)
        settings = make_settings(notify_rig.gateway_db, notify_rig.redis_url, upstreams)
        try:
            async with db.write_session() as session:
                org = await tenants.create_organisation(session, name=f"Platform {uuid.uuid4().hex[:6]}", actor="t")
                svc = await tenants.create_service(
                    session, organisation_id=org.id, name="GaaP payments", restricted=False, actor="t"
                )
                _row, key = await create_key(
                    session,
                    KeyMaterial.from_settings(settings),
                    service_id=svc.id,
                    api="notify",
                    name="pay live key",
                    key_type="normal",
                    scopes=["manage_templates"],
                    actor="t",
                )
            pusher = Pusher(db, {"notify": notify_rig.notify_url}, PrincipalSigner(parse_keyring(MASTER)))
            try:
                assert await pusher.deliver_pending(svc.id) == {"delivered": 1}
            finally:
                await pusher.close()
            return key
        finally:
            await db.dispose()

    return asyncio.run(make())


@pytest.fixture(scope="session")
def notify_door(notify_rig: NotifyRig) -> Iterator[NotifyDoor]:
    door = NotifyDoor(notify_rig.url)
    app = Starlette(routes=[Route("/{path:path}", door.forward, methods=["GET", "POST"])])
    with serve_in_thread(app) as url:
        door.url = url
        yield door


@pytest.fixture
def receipts_on(pay_rig: PayRig, pay_notify_key: str, notify_door: NotifyDoor) -> Iterator[PayRig]:
    """Pay with its Notify key, reaching notify through the door; retries after 0.2 s instead of 30 s."""
    settings = pay_rig.settings
    saved = (settings.notify_api_key, settings.notify_base_url, settings.notify_retry_seconds)
    settings.notify_api_key = SecretStr(pay_notify_key)
    settings.notify_base_url, settings.notify_retry_seconds = notify_door.url, 0.2
    notify_door.reset()
    try:
        yield pay_rig
    finally:
        settings.notify_api_key, settings.notify_base_url, settings.notify_retry_seconds = saved
        notify_door.reset()


@pytest.fixture
async def workers(
    receipts_on: PayRig,
    notify_rig: NotifyRig,
    email_sink: SmtpSink,
) -> AsyncIterator[None]:
    """Pay's worker and notify's, in this event loop (so the test's own HTTP calls go to threads)."""
    stop = asyncio.Event()
    pay_worker = asyncio.create_task(serve(worker_spec(receipts_on.settings), stop=stop, handle_signals=False))
    try:
        async with running_worker(notify_rig, email_sink):
            yield
    finally:
        stop.set()
        await asyncio.wait_for(pay_worker, 20)


async def outbox_row(pay_db: Database, payment_id: str) -> ConfirmationEmail | None:
    async with pay_db.read_session() as session:
        row = await session.get(ConfirmationEmail, payment_id)
        if row is not None:
            session.expunge(row)
        return row
