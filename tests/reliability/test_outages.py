"""PostgreSQL or Redis away for a while, then back (issue 9): while a required dependency is down every API answers a
clear 503 in its own error format, never a 500; the per-family Redis policy holds (ARCHITECTURE, "Rate limits":
Notify sends fail open, Pay falls back to per-process limits, identity fails closed); and once the dependency is back
every API answers normally again without any process being restarted.

PostgreSQL is taken away at the network (the rig reaches it through a `FaultProxy`): open connections are reset and
new ones refused, which is what a client sees of a server that went down, without stopping the cluster other tests
share. Redis is the rig's own server, stopped and started again empty.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.reliability.checks import assert_each_delivered_once, eventually, send_texts
from tests.reliability.conftest import Profile
from tests.reliability.rig import Platform

#: A token request from a client identity has to look up (in its database) before it can refuse it.
TOKEN_REQUEST = {"grant_type": "authorization_code", "code": "x", "client_id": "unknown", "client_secret": "wrong"}
NOTIFY_503 = {"error": "ServiceUnavailable", "message": "Notify is temporarily unavailable, try again later"}


async def answers(platform: Platform) -> dict[str, httpx.Response]:
    """One request of each family through the gateway: a Notify send and list, a Pay search, an OAuth token."""
    assert platform.tenant is not None
    sms = {
        "phone_number": "07700900400",
        "template_id": platform.tenant.sms_template,
        "personalisation": {"ref": "outage"},
    }
    async with (
        platform.notify_client(timeout=20) as notify,
        platform.pay_client(timeout=20) as pay,
        httpx.AsyncClient(base_url=platform.url(), timeout=20) as anonymous,
    ):
        send, listing, payments, token = await asyncio.gather(
            notify.post("/v2/notifications/sms", json=sms),
            notify.get("/v2/notifications"),
            pay.get("/v1/payments"),
            anonymous.post("/token", data=TOKEN_REQUEST),
        )
    return {"send": send, "list": listing, "payments": payments, "token": token}


def assert_normal(found: dict[str, httpx.Response]) -> None:
    assert found["send"].status_code == 201, found["send"].text
    assert found["list"].status_code == 200, found["list"].text
    assert found["payments"].status_code == 200, found["payments"].text
    # An unknown client: identity's own OAuth answer, which needs its database and the gateway's limiter.
    assert found["token"].status_code in (400, 401), found["token"].text
    assert found["token"].json()["error"] == "invalid_client", found["token"].text


async def back_to_normal(platform: Platform, within: float) -> None:
    last: dict[str, httpx.Response] = {}

    async def normal() -> bool:
        nonlocal last
        last = await answers(platform)
        try:
            assert_normal(last)
        except AssertionError:
            return False
        return True

    try:
        await eventually(normal, within, "every API answering normally again", interval=1.0)
    finally:
        platform.check_alive()
    assert_normal(last)


async def test_postgres_unavailable_gives_503s_then_recovers(platform: Platform, profile: Profile) -> None:
    assert platform.postgres_proxy is not None
    assert_normal(await answers(platform))
    platform.postgres_proxy.set("down")
    down_since = time.monotonic()
    try:
        # The gateway's credential cache lives 5 s; past it, every path needs some database.
        await asyncio.sleep(6)
        while True:
            found = await answers(platform)
            for name, response in found.items():
                assert response.status_code == 503, f"{name}: {response.status_code} {response.text[:500]}"
            assert found["send"].json()["errors"] == [NOTIFY_503]
            assert found["send"].json()["status_code"] == 503
            assert found["list"].json()["errors"] == [NOTIFY_503]
            assert found["payments"].json()["code"] == "P0999", found["payments"].text
            assert found["token"].json()["error"] == "temporarily_unavailable", found["token"].text
            if time.monotonic() - down_since >= profile.outage_seconds:
                break
            await asyncio.sleep(1)
    finally:
        platform.postgres_proxy.set("pass")
    await back_to_normal(platform, within=30)
    # Work accepted after the outage still flows: the workers came back to their database on their own.
    sent = await send_texts(platform, 20, label="after-postgres")
    assert not sent.refused, sent.refused
    await assert_each_delivered_once(platform, sent.accepted, within=30)


async def test_redis_unavailable_follows_each_familys_policy_then_recovers(
    platform: Platform, profile: Profile
) -> None:
    assert_normal(await answers(platform))
    platform.stop_redis()
    down_since = time.monotonic()
    try:
        while True:
            found = await answers(platform)
            # Notify: sends fail open, the row is durable and the sweeper queues it once Redis is back.
            assert found["send"].status_code == 201, found["send"].text
            assert found["list"].status_code == 200, found["list"].text
            # Pay: per-process limits stand in for the shared ones.
            assert found["payments"].status_code == 200, found["payments"].text
            # Identity: fails closed, with the gateway's 503 in OAuth's format.
            assert found["token"].status_code == 503, found["token"].text
            assert found["token"].json()["error"] == "temporarily_unavailable", found["token"].text
            if time.monotonic() - down_since >= profile.outage_seconds:
                break
            await asyncio.sleep(1)
    finally:
        platform.start_redis()
    await back_to_normal(platform, within=30)
    sent = await send_texts(platform, 20, label="after-redis")
    assert not sent.refused, sent.refused
    await assert_each_delivered_once(platform, sent.accepted, within=45)
