"""Delivering webhooks (pay spec §12, §12.1) to a real HTTP receiver: both signatures on every attempt, the retry
schedule, 3xx counted as failure, give-up after six attempts, the delivery log, the relay sweep and the running
worker's `webhooks` lane."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from datetime import timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import gaap_client
import pytest
from sqlalchemy import update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import serve, sweep_once
from services.pay.webhooks import outbox
from services.pay.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS, deliver_webhook, pin, purge_log, sweeps
from services.pay.webhooks.models import WebhookMessage
from services.pay.worker import worker_spec
from tests.pay.conftest import PayRig, new_payment
from tests.pay.test_accounts import internal
from tests.pay.webhooks.conftest import (
    Receiver,
    attempts_of,
    check_signed,
    deliver_all,
    hooks_of,
    make_due,
    messages_of,
    tenant_with,
    webhook_settings,
)


class Setup(NamedTuple):
    url: str
    secret: str
    payment_id: str
    service_id: uuid.UUID
    webhook_id: str


async def cancelled_payment(pay_rig: PayRig, receiver: Receiver, *statuses: int) -> Setup:
    """A tenant with one webhook (answering `statuses` first) and a cancelled payment: one `card_payment_failed`
    message."""
    url = receiver.path(*statuses)
    tenant = await tenant_with(pay_rig, [webhook_settings(url, events=(outbox.FAILED,))])
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    [hook] = hooks_of(pay_rig, tenant)
    return Setup(url, hook["signing_secret"], payment["payment_id"], tenant.service_id, hook["webhook_id"])


async def test_a_delivery_is_signed_both_ways_and_logged(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url, secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver)
    [message] = await deliver_all(worker_ctx, pay_db, payment_id)
    assert message.status == outbox.SUCCESSFUL
    [hit] = receiver.of(url)
    check_signed(hit, v2_secrets=[secret], legacy_secret=secret)
    body = hit.json()
    assert body["webhook_message_id"] == message.id and body["event_type"] == outbox.FAILED
    assert body["resource"]["state"] == {
        "status": "cancelled",
        "finished": True,
        "code": "P0040",
        "message": "Payment was cancelled by the service",
    }
    [attempt] = await attempts_of(pay_db, message.id)
    assert attempt.success and attempt.status_code == 200 and attempt.error is None
    await deliver_webhook(worker_ctx, message.id)  # a duplicate job: the message is finished
    assert len(receiver.of(url)) == 1


async def test_the_sdk_accepts_what_pay_sends_and_refuses_a_wrong_secret(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url, secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver)
    await deliver_all(worker_ctx, pay_db, payment_id)
    [hit] = receiver.of(url)
    assert gaap_client.verify_webhook(hit.body, hit.headers, secret) > 0
    with pytest.raises(gaap_client.InvalidSignature):
        gaap_client.verify_webhook(hit.body, hit.headers, "webhook_test_" + "0" * 26)
    with pytest.raises(gaap_client.InvalidSignature):
        gaap_client.verify_webhook(hit.body + b" ", hit.headers, secret)


async def test_failed_attempts_follow_the_retry_schedule_then_succeed(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url, secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver, 500, 503)
    [message] = await deliver_all(worker_ctx, pay_db, payment_id)
    assert message.status == outbox.PENDING and message.attempt == 1
    [first] = await attempts_of(pay_db, message.id)
    assert abs(message.next_attempt_at - first.attempted_at - RETRY_DELAYS[0]) < timedelta(seconds=5)
    await deliver_webhook(worker_ctx, message.id)  # not due yet: nothing is sent
    assert len(receiver.of(url)) == 1
    for _ in range(2):
        await make_due(pay_db, message.id, utcnow() - timedelta(seconds=1))
        await deliver_webhook(worker_ctx, message.id)
    [message] = await messages_of(pay_db, payment_id)
    assert message.status == outbox.SUCCESSFUL and message.attempt == 3
    log = await attempts_of(pay_db, message.id)
    assert [(a.attempt, a.status_code, a.success, a.error) for a in log] == [
        (1, 500, False, "HTTP 500"),
        (2, 503, False, "HTTP 503"),
        (3, 200, True, None),
    ]
    hits = receiver.of(url)
    assert len({hit.body for hit in hits}) == 1  # one message, one body and ID across retries
    for hit in hits:
        check_signed(hit, v2_secrets=[secret], legacy_secret=secret)


async def test_six_failures_fail_the_message_and_redirects_are_not_followed(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url, _secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver, *([302] * MAX_ATTEMPTS))
    [message] = await messages_of(pay_db, payment_id)
    pauses = []
    for _ in range(MAX_ATTEMPTS):
        await make_due(pay_db, message.id, utcnow() - timedelta(seconds=1))
        await deliver_webhook(worker_ctx, message.id)
        [message] = await messages_of(pay_db, payment_id)
        pauses.append(message.next_attempt_at - utcnow())
    assert message.status == outbox.FAILED_STATUS and message.attempt == MAX_ATTEMPTS
    for pause, expected in zip(pauses, RETRY_DELAYS, strict=False):
        assert expected - timedelta(seconds=10) < pause <= expected
    log = await attempts_of(pay_db, message.id)
    assert [a.status_code for a in log] == [302] * MAX_ATTEMPTS
    assert all("redirects are not followed" in (a.error or "") for a in log)
    assert len(receiver.of(url)) == MAX_ATTEMPTS
    assert receiver.hits.get("/elsewhere") is None
    await make_due(pay_db, message.id, utcnow() - timedelta(seconds=1))
    await deliver_webhook(worker_ctx, message.id)  # failed for good
    assert len(receiver.of(url)) == MAX_ATTEMPTS


async def test_an_unreachable_receiver_is_a_failed_attempt(
    pay_rig: PayRig, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    tenant = await tenant_with(pay_rig, [webhook_settings("http://127.0.0.1:9/closed", events=(outbox.FAILED,))])
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    [message] = await deliver_all(worker_ctx, pay_db, payment["payment_id"])
    assert message.status == outbox.PENDING
    [attempt] = await attempts_of(pay_db, message.id)
    assert attempt.status_code is None and not attempt.success and attempt.error


async def test_inactive_webhooks_and_private_live_addresses_are_not_sent(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    inactive = receiver.path()
    tenant = await tenant_with(
        pay_rig,
        [webhook_settings(inactive, events=(outbox.FAILED,), active=False)],
        live={"provider": "sandbox", "webhooks": [webhook_settings("https://127.0.0.1:1/hook")]},
    )
    test_payment = new_payment(pay_rig.api(tenant.account("test")))
    live = pay_rig.api(tenant.account("live"))
    live_payment = new_payment(live)
    for client, payment in ((pay_rig.api(tenant.account("test")), test_payment), (live, live_payment)):
        assert client.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    assert [m.status for m in await messages_of(pay_db, test_payment["payment_id"])] == [outbox.WILL_NOT_SEND]
    [refused] = await deliver_all(worker_ctx, pay_db, live_payment["payment_id"])
    assert refused.status == outbox.WILL_NOT_SEND
    [attempt] = await attempts_of(pay_db, refused.id)
    assert "non-public address (127.0.0.1)" in (attempt.error or "")
    assert receiver.of(inactive) == []


async def test_the_delivery_log_is_readable_by_the_account_only(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url, _secret, payment_id, owner, webhook_id = await cancelled_payment(pay_rig, receiver, 500)
    [message] = await deliver_all(worker_ctx, pay_db, payment_id)
    await make_due(pay_db, message.id, utcnow() - timedelta(seconds=1))
    await deliver_webhook(worker_ctx, message.id)
    path = f"/internal/services/{owner}/accounts/test/webhooks/{webhook_id}/messages"
    with internal(pay_rig, owner) as client:
        log = client.get(path).json()["messages"]
        failed_only = client.get(path, params={"status": "FAILED"}).json()["messages"]
        other_mode = client.get(path.replace("/test/", "/live/"))
    [entry] = log
    assert entry["webhook_message_id"] == message.id and entry["status"] == outbox.SUCCESSFUL
    assert entry["event_type"] == outbox.FAILED and entry["resource_id"] == payment_id
    assert [(a["attempt"], a.get("status_code"), a["success"]) for a in entry["attempts"]] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert entry["attempts"][0]["error"] == "HTTP 500"
    assert entry["attempts"][0]["attempted_at"].endswith("Z")
    assert failed_only == []
    assert other_mode.status_code == 404
    with internal(pay_rig, pay_rig.main.service_id) as client:
        foreign = client.get(path.replace(str(owner), str(pay_rig.main.service_id)))
    assert foreign.status_code == 404
    assert len(receiver.of(url)) == 2


async def test_finished_messages_and_their_log_go_after_seven_days(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    _url, _secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver)
    [message] = await deliver_all(worker_ctx, pay_db, payment_id)
    await purge_log(worker_ctx)
    assert len(await attempts_of(pay_db, message.id)) == 1
    await purge_log(worker_ctx, now=utcnow() + timedelta(days=7, minutes=1))
    assert await messages_of(pay_db, payment_id) == []
    assert await attempts_of(pay_db, message.id) == []


async def test_the_relay_sweep_queues_due_messages_but_not_leased_ones(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    _url, _secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver)
    [message] = await messages_of(pay_db, payment_id)
    [relay] = sweeps()
    jobs = worker_ctx["jobs"]
    await jobs.redis.flushdb()
    assert await sweep_once(pay_db, jobs, relay) >= 1
    async with pay_db.write_session() as session:
        await session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.status == outbox.PENDING)
            .values(next_attempt_at=utcnow() + timedelta(minutes=1))
        )
    await jobs.redis.flushdb()
    assert await sweep_once(pay_db, jobs, relay) == 0
    await make_due(pay_db, message.id, utcnow() - timedelta(seconds=1))
    assert await sweep_once(pay_db, jobs, relay) == 1


async def test_the_running_worker_delivers_on_its_webhooks_lane(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database
) -> None:
    url, secret, payment_id, *_ = await cancelled_payment(pay_rig, receiver)
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(worker_spec(pay_rig.settings), stop=stop, handle_signals=False))
    try:
        async with asyncio.timeout(30):
            while not receiver.of(url):  # noqa: ASYNC110  (the worker's relay runs every 5 s)
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    check_signed(receiver.of(url)[0], v2_secrets=[secret], legacy_secret=secret)
    [message] = await messages_of(pay_db, payment_id)
    assert message.status == outbox.SUCCESSFUL


@pytest.mark.parametrize(
    ("url", "address", "pinned", "host"),
    [
        ("https://hooks.example.org/pay?x=1", "203.0.113.7", "https://203.0.113.7/pay?x=1", "hooks.example.org"),
        ("http://hooks.example.org:8080/p", "2001:db8::1", "http://[2001:db8::1]:8080/p", "hooks.example.org:8080"),
        ("https://u:pw@hooks.example.org/p", "203.0.113.7", "https://u:pw@203.0.113.7/p", "hooks.example.org"),
    ],
)
def test_a_request_goes_to_the_checked_address_under_its_name(url: str, address: str, pinned: str, host: str) -> None:
    target = pin(url, ipaddress.ip_address(address))
    assert (target.url, target.host, target.server_name) == (pinned, host, "hooks.example.org")


async def test_a_named_host_is_called_at_its_checked_address(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url = receiver.path().replace("127.0.0.1", "localhost")
    tenant = await tenant_with(pay_rig, [webhook_settings(url, events=(outbox.FAILED,))])
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    [message] = await deliver_all(worker_ctx, pay_db, payment["payment_id"])
    assert message.status == outbox.SUCCESSFUL
    [hit] = receiver.of(url.replace("localhost", "127.0.0.1"))
    assert hit.headers["host"] == urlsplit(url).netloc


async def test_a_host_that_does_not_resolve_is_retried(
    pay_rig: PayRig, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    tenant = await tenant_with(pay_rig, [webhook_settings("http://no-such-host.invalid/x", events=(outbox.FAILED,))])
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    [message] = await deliver_all(worker_ctx, pay_db, payment["payment_id"])
    assert message.status == outbox.PENDING
    [attempt] = await attempts_of(pay_db, message.id)
    assert "could not be resolved" in (attempt.error or "")
