"""A real HTTP receiver for pay's webhooks, and helpers to give a tenant webhooks and drive deliveries.

The receiver records every request it gets (per path, so tests never see each other's) and can answer each path
with a scripted list of statuses (e.g. fail the first two). Signatures are checked by the tests afterwards, with
the kernel's `gaap.webhooks.verify`, the plain hex `Pay-Signature` HMAC and the SDK's `verify_webhook`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import gaap_client
import orjson
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gaap import webhooks as signatures
from gaap.db.engine import Database
from services.pay.webhooks.delivery import deliver_webhook
from services.pay.webhooks.models import WebhookAttempt, WebhookMessage
from services.pay.webhooks.outbox import EVENT_TYPES
from tests.pay.conftest import PayRig, Tenant
from tests.pay.test_accounts import internal
from tests.support import serve_in_thread


@dataclass
class Hit:
    body: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = orjson.loads(self.body)
        return document


@dataclass
class Receiver:
    url: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    #: Per path, the statuses to answer with, in order; 200 once they run out.
    script: dict[str, list[int]] = field(default_factory=dict)

    def path(self, *statuses: int) -> str:
        """A fresh callback path answering `statuses` first; returns its absolute URL."""
        path = f"/hook/{uuid.uuid4().hex}"
        self.script[path] = list(statuses)
        return self.url + path

    def of(self, url: str) -> list[Hit]:
        return self.hits.get(url.removeprefix(self.url), [])


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    found = Receiver("")

    async def hook(request: Request) -> Response:
        path = request.url.path
        found.hits.setdefault(path, []).append(Hit(await request.body(), dict(request.headers)))
        queue = found.script.get(path) or []
        status = queue.pop(0) if queue else 200
        headers = {"Location": f"{found.url}/elsewhere"} if 300 <= status < 400 else None
        return Response(status_code=status, headers=headers)

    app = Starlette(routes=[Route("/{rest:path}", hook, methods=["POST"])])
    with serve_in_thread(app) as url:
        found.url = url
        yield found


def check_signed(hit: Hit, *, v2_secrets: list[str], legacy_secret: str) -> None:
    """Both headers as §12.1 defines them, and the SDK accepts the request with each live secret."""
    assert hit.headers["content-type"] == "application/json"
    expected = hmac.new(legacy_secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["pay-signature"], expected)
    header = hit.headers["pay-signature-v2"]
    _t, v1s = signatures.parse(header)
    assert len(v1s) == len(v2_secrets)
    for secret in v2_secrets:
        signatures.verify(header, hit.body, [secret])
        gaap_client.verify_webhook(hit.body, hit.headers, secret)


def webhook_settings(url: str, *, events: tuple[str, ...] = EVENT_TYPES, active: bool = True) -> dict[str, Any]:
    return {"callback_url": url, "subscriptions": list(events), "active": active}


async def tenant_with(rig: PayRig, test: list[dict[str, Any]], **more: Any) -> Tenant:
    """A new service whose test account has `test` webhooks (plus any other pay settings)."""
    return await asyncio.to_thread(rig.tenant, {"test": {"webhooks": test}, **more})


def hooks_of(rig: PayRig, tenant: Tenant, mode: str = "test") -> list[dict[str, Any]]:
    with internal(rig, tenant.service_id) as client:
        response = client.get(f"/internal/services/{tenant.service_id}/accounts/{mode}/webhooks")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["webhooks"]
    return found


async def messages_of(db: Database, payment_id: str) -> list[WebhookMessage]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(WebhookMessage).where(WebhookMessage.payment_id == payment_id).order_by(WebhookMessage.created_at)
        )
        found = list(rows.scalars().all())
        session.expunge_all()
        return found


async def attempts_of(db: Database, message_id: str) -> list[WebhookAttempt]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(WebhookAttempt).where(WebhookAttempt.message_id == message_id).order_by(WebhookAttempt.id)
        )
        found = list(rows.scalars().all())
        session.expunge_all()
        return found


async def make_due(db: Database, message_id: str, when: datetime) -> None:
    """Skip the retry pause: the message is due at `when`."""
    async with db.write_session() as session:
        await session.execute(
            update(WebhookMessage).where(WebhookMessage.id == message_id).values(next_attempt_at=when)
        )


async def deliver_all(ctx: dict[str, Any], db: Database, payment_id: str) -> list[WebhookMessage]:
    """Run the delivery job once for each of the payment's messages, then read them back."""
    for message in await messages_of(db, payment_id):
        await deliver_webhook(ctx, message.id)
    return await messages_of(db, payment_id)
