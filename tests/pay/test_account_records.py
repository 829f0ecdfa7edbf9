"""Pay reads accounts from a per-process cache (`services.pay.accounts.records`), as notify reads its services: a
push is seen at once by the process that took it, by every other pay process through the Redis announcement, and
without Redis within the cache's TTL. A switched-off account stops taking payments within that bound."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from gaap.db.engine import Database
from gaap.redis import create_redis
from services.pay.accounts.records import AccountRecords
from services.pay.app import create_app as create_pay
from services.pay.errors import PayError
from tests.pay.conftest import RETURN_URL, PayRig, SignedPrincipal, Tenant, change_pay_settings
from tests.pay.test_accounts import document, internal
from tests.support import serve_in_thread

BODY = {"amount": 500, "reference": "R-1", "description": "Parking permit", "return_url": RETURN_URL}


def create_on(url: str, tenant: Tenant) -> httpx.Response:
    """`POST /v1/payments` on one pay process, with the principal token the gateway would have signed."""
    with httpx.Client(base_url=url, auth=SignedPrincipal(tenant.account("test")), timeout=30) as client:
        return client.post("/v1/payments", json=BODY)


def test_a_switched_off_account_stops_taking_payments_at_once(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    assert create_on(pay_rig.pay_url, tenant).status_code == 201  # the account is in this process's cache now
    assert change_pay_settings(pay_rig, tenant, {"disabled": True}) == {"delivered": 1}
    refused = create_on(pay_rig.pay_url, tenant)
    assert refused.status_code == 403 and refused.json()["code"] == "P0941", refused.text


def test_a_push_reaches_another_pay_process_through_the_announcement(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    other = create_pay(pay_rig.settings)
    with serve_in_thread(other) as other_url:
        other.state.accounts.cache.ttl = 3600  # only the announcement can make it forget
        assert create_on(other_url, tenant).status_code == 201
        assert change_pay_settings(pay_rig, tenant, {"disabled": True}) == {"delivered": 1}
        deadline = time.monotonic() + 5
        while (answer := create_on(other_url, tenant)).status_code == 201 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert answer.status_code == 403 and answer.json()["code"] == "P0941", answer.text


def test_without_redis_a_change_is_seen_within_the_ttl(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()

    async def scenario() -> list[bool]:
        now = [1000.0]
        db = Database(pay_rig.pay_db, pool_size=1)
        unreachable = create_redis("redis://127.0.0.1:1/0")  # announcements are lost: only the TTL helps
        records = AccountRecords(db, unreachable, ttl=5.0)
        records.cache.clock = lambda: now[0]
        seen = []
        try:
            seen.append((await records.account(tenant.service_id, "test")).disabled)
            await asyncio.to_thread(change_pay_settings, pay_rig, tenant, {"disabled": True})
            now[0] += 4.9
            seen.append((await records.account(tenant.service_id, "test")).disabled)
            now[0] += 0.2
            seen.append((await records.account(tenant.service_id, "test")).disabled)
        finally:
            await unreachable.aclose()
            await db.dispose()
        return seen

    assert asyncio.run(scenario()) == [False, False, True]


def test_an_account_not_pushed_yet_is_not_remembered_as_missing(pay_rig: PayRig) -> None:
    """500 P0199 until the push, then found on the next read: a miss is never cached."""
    service_id = uuid.uuid4()

    async def read(records: AccountRecords) -> int | str:
        try:
            return (await records.account(service_id, "test")).service_name
        except PayError as refused:
            return refused.status_code

    async def scenario() -> list[int | str]:
        db = Database(pay_rig.pay_db, pool_size=1)
        redis = create_redis(pay_rig.redis_url)
        records = AccountRecords(db, redis, ttl=3600)  # this instance follows no announcement
        try:
            before = await read(records)
            with internal(pay_rig, service_id) as client:
                pushed = await asyncio.to_thread(client.put, f"/internal/services/{service_id}", json=document(1))
            assert pushed.status_code == 200, pushed.text
            return [before, await read(records)]
        finally:
            await redis.aclose()
            await db.dispose()

    assert asyncio.run(scenario()) == [500, "Direct"]
