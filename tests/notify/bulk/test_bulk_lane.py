"""A job's notifications go on the `bulk` lane, so a one-off send made while a large job is queued is delivered
first (notify spec §18.4, §18.6): the worker runs in-process against the rig, delivering email to the SMTP sink."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from gaap.db import Database
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.notifications.models import Notification
from tests.notify.bulk.helpers import get_job, headers, post_to_notify
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import EMAIL_PERSONALISATION, eventually, running_worker

#: Enough that the bulk lane is still busy for seconds after the one-off arrives (it takes 10 rows at a time).
JOB_SIZE = 200


async def test_a_one_off_send_during_a_large_job_is_delivered_first(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    rows = [["email address", "name", "date", "urgent"]]
    rows += [[f"bulk-{n}@example.com", "Ada", "1 May", ""] for n in range(JOB_SIZE)]
    job = post_to_notify(
        notify_rig, {"name": "lane", "template_id": notify_rig.templates["email"], "rows": rows}, key_type="normal"
    )
    assert job.status_code == 201, job.text
    job_id = job.json()["data"]["id"]
    async with httpx.AsyncClient(headers=headers(notify_rig, "live")) as client:
        one_off = await client.post(
            f"{notify_rig.url}/v2/notifications/email",
            json={
                "email_address": "one-off@example.com",
                "template_id": notify_rig.templates["email"],
                "personalisation": EMAIL_PERSONALISATION,
            },
        )
    assert one_off.status_code == 201, one_off.text
    async with running_worker(notify_rig, email_sink):

        async def finished() -> bool:
            return bool(get_job(notify_rig, job_id, "live").json()["data"]["job_status"] == "finished")

        await eventually(finished, within=90)
    async with db.read_session() as session:
        single = await session.get(Notification, uuid.UUID(one_off.json()["id"]))
        assert single is not None and single.sent_at is not None
        ahead = await session.scalar(
            select(func.count()).where(Notification.job_id == uuid.UUID(job_id), Notification.sent_at < single.sent_at)
        )
        lanes = set(
            (
                await session.execute(select(Notification.process_type).where(Notification.job_id == uuid.UUID(job_id)))
            ).scalars()
        )
    assert lanes == {"bulk"}
    # Queued behind the whole job, it was handed over among the very first: the lanes are separate.
    assert ahead is not None and ahead < JOB_SIZE // 10, ahead
    progress = get_job(notify_rig, job_id, "live").json()["data"]
    assert progress["notification_count"] == JOB_SIZE
    assert "created" not in progress["statuses"]
