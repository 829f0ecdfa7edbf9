"""Notify's worker in-process against the rig (real notify behind a real gateway, PostgreSQL, Redis, the SMTP sink):
test keys' simulated lifecycle (notify spec §3.5, §16.5), exactly-once effects, the sweeps and the retention purge
(§16.6). Email delivery itself: `test_email.py`."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from notifications_python_client.errors import HTTPError
from redis.asyncio import Redis
from sqlalchemy import delete, inspect

from gaap.db import Database, utcnow
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import JobQueue, job_id, sweep_once
from services.notify.delivery import tasks
from services.notify.delivery.history import NotificationHistory, purge_expired
from services.notify.notifications.models import Notification
from services.notify.tenancy.models import DataRetention, NotifyService
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import (
    PERSONALISATION,
    client,
    eventually,
    final_in_api,
    handler_ctx,
    insert_row,
    row_of,
    running_worker,
)

ADDRESS = {"address_line_1": "A. Citizen", "address_line_2": "1 High Street", "address_line_3": "sw1a1aa"}
#: The columns that hold personal data: none of them may reach history.
PERSONAL = {"to", "normalised_to", "personalisation", "body", "subject", "reply_to_text", "unsubscribe_link"}


async def test_test_key_outcomes_follow_the_recipient(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    api = client(notify_rig)
    sms, email = notify_rig.templates["sms"], notify_rig.templates["email"]
    email_values = {"name": "Ada", "date": "1 May", "urgent": ""}
    async with running_worker(notify_rig, email_sink):
        sent = {
            "delivered": await asyncio.to_thread(api.send_sms_notification, "07700900123", sms, PERSONALISATION),
            "temporary-failure": await asyncio.to_thread(
                api.send_sms_notification, "07700900003", sms, PERSONALISATION
            ),
            "permanent-failure": await asyncio.to_thread(
                api.send_sms_notification, "07700900002", sms, PERSONALISATION
            ),
            "email temporary-failure": await asyncio.to_thread(
                api.send_email_notification, "temp-fail@simulator.notify", email, email_values
            ),
            "received": await asyncio.to_thread(
                api.send_letter_notification, notify_rig.templates["letter"], {"name": "Ada", **ADDRESS}
            ),
        }
        got = {expected: await final_in_api(api, s["id"]) for expected, s in sent.items()}
    for expected, notification in got.items():
        assert notification["status"] == expected.removeprefix("email "), notification
        assert notification["completed_at"] is not None
        assert notification["sent_at"] is not None
    for s in sent.values():
        row = await row_of(db, s["id"])
        assert row is not None and row.sent_by == "simulator" and row.attempt == 1
    letter = await row_of(db, sent["received"]["id"])
    assert letter is not None and letter.status == "delivered"  # stored as delivered, shown as received


async def test_a_job_delivered_twice_has_one_effect(notify_rig: NotifyRig, db: Database, email_sink: SmtpSink) -> None:
    ident = str(await insert_row(db, notify_rig))
    async with handler_ctx(notify_rig, email_sink) as ctx:
        await asyncio.gather(*(tasks.deliver(ctx, ident) for _ in range(5)))
        sending = await row_of(db, ident)
        assert sending is not None and sending.status == "sending" and sending.attempt == 1
        await tasks.deliver(ctx, ident)  # long after: the row has moved on
        await asyncio.gather(*(tasks.simulate_receipt(ctx, ident) for _ in range(5)))
        delivered = await row_of(db, ident)
        assert delivered is not None and delivered.status == "delivered"
        await tasks.simulate_receipt(ctx, ident)
        await tasks.deliver(ctx, ident)
    again = await row_of(db, ident)
    assert again is not None
    assert (again.status, again.attempt, again.sent_at, again.updated_at) == (
        "delivered",
        1,
        sending.sent_at,
        delivered.updated_at,
    )


async def test_a_duplicate_queued_job_through_the_worker_has_one_effect(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    api = client(notify_rig)
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    try:
        sent = await asyncio.to_thread(
            api.send_sms_notification, "07700900123", notify_rig.templates["sms"], PERSONALISATION
        )
        # A second, distinct job for the same row (as a sweep racing the API's enqueue could produce).
        assert await jobs.enqueue("deliver", sent["id"], lane="test", dedupe_key=f"{sent['id']}:again")
        async with running_worker(notify_rig, email_sink):
            await final_in_api(api, sent["id"])
    finally:
        await jobs.close()
    row = await row_of(db, sent["id"])
    assert row is not None and row.status == "delivered" and row.attempt == 1


async def test_the_sweeps_requeue_rows_whose_jobs_were_lost(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    lost_send = str(await insert_row(db, notify_rig, created_at=long_ago, next_attempt_at=long_ago))
    lost_receipt = str(
        await insert_row(
            db,
            notify_rig,
            to="07700900002",
            normalised_to="447700900002",
            status="sending",
            sent_at=long_ago,
            sent_by="simulator",
            created_at=long_ago,
            next_attempt_at=long_ago,
            attempt=1,
        )
    )
    recent = str(await insert_row(db, notify_rig))  # due now, not overdue: its job may still be on its way
    sweeps = {s.name: s for s in tasks.sweeps()}
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    redis = Redis.from_url(notify_rig.redis_url)
    try:
        assert await sweep_once(db, jobs, sweeps["created-test"]) >= 1
        assert await sweep_once(db, jobs, sweeps["test-receipts"]) >= 1
        assert await redis.exists(f"arq:job:{job_id('notify', 'deliver', lost_send)}")
        assert await redis.exists(f"arq:job:{job_id('notify', 'simulate_receipt', lost_receipt)}")
        assert not await redis.exists(f"arq:job:{job_id('notify', 'deliver', recent)}")
        async with running_worker(notify_rig, email_sink):

            async def settled() -> bool:
                a, b = await row_of(db, lost_send), await row_of(db, lost_receipt)
                return a is not None and b is not None and a.status == "delivered" and b.status != "sending"

            await eventually(settled)
    finally:
        await jobs.close()
        await redis.aclose()
    receipt = await row_of(db, lost_receipt)
    assert receipt is not None and receipt.status == "permanent-failure" and receipt.attempt == 1


async def test_retention_moves_expired_rows_to_history_without_personal_data(
    notify_rig: NotifyRig, db: Database
) -> None:
    now = utcnow()
    expired = await insert_row(
        db, notify_rig, status="delivered", created_at=now - timedelta(days=9), next_attempt_at=now - timedelta(days=9)
    )
    kept = await insert_row(db, notify_rig, status="delivered", created_at=now - timedelta(days=5))
    # A service with its own, shorter retention for text messages.
    other = uuid.uuid4()
    async with db.write_session() as session:
        session.add(NotifyService(id=other, name=f"Short retention {other.hex[:6]}", permissions=["sms"]))
        await session.flush()
        session.add(DataRetention(service_id=other, notification_type="sms", days_of_retention=3))
    short = await insert_row(db, notify_rig, service_id=other, created_at=now - timedelta(days=5))
    short_email = await insert_row(
        db, notify_rig, service_id=other, notification_type="email", created_at=now - timedelta(days=5)
    )
    try:
        assert await purge_expired(db, now=now, batch=1) >= 2
        for gone in (expired, short):
            assert await row_of(db, gone) is None
        for still in (kept, short_email):
            assert await row_of(db, still) is not None
        async with db.read_session() as session:
            history = await session.get(NotificationHistory, expired)
            assert history is not None
            assert (history.status, history.key_type, history.service_id) == (
                "delivered",
                "test",
                notify_rig.service_id,
            )
            assert history.created_at == now - timedelta(days=9)
            assert await session.get(NotificationHistory, kept) is None
            columns = await session.run_sync(
                lambda sync: {c["name"] for c in inspect(sync.connection()).get_columns("notification_history")}
            )
        assert not columns & PERSONAL
        with pytest.raises(HTTPError) as raised:
            await asyncio.to_thread(client(notify_rig).get_notification_by_id, str(expired))
        assert raised.value.status_code == 404
        assert await purge_expired(db, now=now) == 0  # a rerun finds nothing left to move
    finally:
        async with db.write_session() as session:
            await session.execute(delete(Notification).where(Notification.service_id == other))
            await session.execute(delete(DataRetention).where(DataRetention.service_id == other))
            await session.execute(delete(NotifyService).where(NotifyService.id == other))


def test_notify_has_a_worker_role() -> None:
    from gaap.cli.components import component, resolve

    worker = resolve(component("notify").worker or "")(None)
    assert set(worker.lanes) == {
        "priority",
        "normal",
        "bulk",
        "retry",
        "test",
        "antivirus",
        "callbacks",
        "callbacks-retry",
    }
    assert {t.__name__ for t in worker.tasks} == {
        "deliver",
        "simulate_receipt",
        "check_precompiled",
        "deliver_callback",
    }
    assert [c.name for c in worker.cron] == [
        "retention",
        "timeout-sending",
        "sms-weights",
        "documents-retention",
        "letters-print",
    ]
    assert worker.cron[4].fields["minute"] == set(range(0, 60, 5))  # the first run after the 17:30 cut-off (§16.5)
    assert worker.cron[0].fields == {"hour": 3, "minute": 0, "second": 0}
    assert worker.cron[1].fields == {"hour": None, "minute": 0, "second": 0}  # hourly (§16.5)
    assert worker.cron[2].fields["minute"] == set(range(0, 60, 5))  # every 5 minutes (§16.4)
    assert worker.cron[3].fields == {"hour": None, "minute": 0, "second": 0}  # files sent by email: hourly (§12)
