"""`gateway.sync.settle`, which the console's settings and client forms share, against the real notify behind the
console rig: a push that a later change superseded is followed to its successor; a push another process is
delivering is waited for (and given up on after the wait, as pending); a refusal's message and location are read
from the component's error envelope."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import claim, transition
from gateway.sync import settle as settle_module
from gateway.sync.documents import path_of
from gateway.sync.models import DELIVERED, PENDING, SUPERSEDED, TenantPush
from gateway.sync.service import LEASE, Pusher
from gateway.sync.settle import Verdict, refusal_of, settle
from gateway.tenants import service as tenants
from tests.gateway.console.admin_support import new_service
from tests.gateway.console.conftest import ConsoleRig

T = TypeVar("T")


async def _change(db: Database, service_id: uuid.UUID, email_limit: int) -> uuid.UUID:
    """Commit a change of the service's Notify settings; its notify push's id."""
    async with db.write_session() as session:
        values = {"email_message_limit": email_limit}
        await tenants.update_component_settings(session, service_id, "notify", values, actor="test")
        query = select(TenantPush.id).where(
            TenantPush.path == path_of("notify", service_id),
            TenantPush.component == "notify",
            TenantPush.status == PENDING,
        )
        push_id: uuid.UUID = (await session.execute(query)).scalar_one()
        return push_id


async def _status(db: Database, push_id: uuid.UUID) -> str:
    async with db.read_session() as session:
        status: str = (await session.execute(select(TenantPush.status).where(TenantPush.id == push_id))).scalar_one()
        return status


def _on_rig(rig: ConsoleRig, work: Callable[[Database, Pusher], Awaitable[T]]) -> T:
    """Run `work` with the gateway's database and a pusher to the rig's real components."""

    async def run() -> T:
        db = Database(rig.gateway_db, pool_size=3)
        pusher = Pusher.from_settings(db, rig.settings)
        try:
            return await work(db, pusher)
        finally:
            await pusher.close()
            await db.dispose()

    return asyncio.run(run())


def test_a_superseded_push_is_followed_to_the_push_that_carries_it(console_rig: ConsoleRig) -> None:
    service_id = new_service(console_rig, "nobody@example.gov.uk")

    async def work(db: Database, pusher: Pusher) -> tuple[list[Verdict], str, str]:
        first = await _change(db, service_id, 100)
        second = await _change(db, service_id, 200)  # supersedes the first before it is delivered
        verdicts = await settle(db, pusher, [first])
        return verdicts, await _status(db, first), await _status(db, second)

    verdicts, first, second = _on_rig(console_rig, work)
    assert [v.status for v in verdicts] == [DELIVERED]
    assert (first, second) == (SUPERSEDED, DELIVERED)


def test_a_push_another_process_is_delivering_is_waited_for(
    console_rig: ConsoleRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_id = new_service(console_rig, "nobody@example.gov.uk")

    async def work(db: Database, pusher: Pusher) -> tuple[Verdict, float, Verdict, float]:
        push_id = await _change(db, service_id, 300)
        async with db.write_session() as session:  # the sweeper takes the lease ...
            held = await claim(session, TenantPush, push_id, expected_status=PENDING, lease=LEASE)
            assert held is not None

        async def finish_elsewhere() -> None:  # ... and delivers it a moment later
            await asyncio.sleep(0.5)
            async with db.write_session() as session:
                await transition(
                    session, TenantPush, push_id, from_status=PENDING, to_status=DELIVERED, delivered_at=utcnow()
                )

        started = time.monotonic()
        [waited], _ = await asyncio.gather(settle(db, pusher, [push_id]), finish_elsewhere())
        waited_for = time.monotonic() - started

        stuck = await _change(db, service_id, 400)
        async with db.write_session() as session:  # a process that took the lease and never finishes
            assert await claim(session, TenantPush, stuck, expected_status=PENDING, lease=LEASE) is not None
        monkeypatch.setattr(settle_module, "WAIT_SECONDS", 0.5)
        started = time.monotonic()
        [given_up] = await settle(db, pusher, [stuck])
        return waited, waited_for, given_up, time.monotonic() - started

    waited, waited_for, given_up, gave_up_after = _on_rig(console_rig, work)
    assert waited.delivered and waited_for >= 0.5
    assert given_up.pending and given_up.message == "" and 0.5 <= gave_up_after < 5


def test_a_refusal_is_read_from_the_components_error_envelope() -> None:
    envelope = '{"error": "BadRequest", "message": "settings.sms_sender: too short", "request_id": "r"}'
    assert refusal_of(envelope) == ("settings.sms_sender", "too short")
    identity = '{"error": "InvalidClient", "message": "client abc: JwksUrl must be https", "request_id": "r"}'
    assert refusal_of(identity) == ("", "client abc: JwksUrl must be https")
    assert refusal_of('{"error": "Unknown"}') == ("", '{"error": "Unknown"}')
    assert refusal_of("<html>Bad Request</html>") == ("", "<html>Bad Request</html>")
    assert refusal_of(None) == ("", "")
