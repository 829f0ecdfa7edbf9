"""POST /v2/notifications/bulk, GET /v2/jobs/{id} and POST /v2/jobs/{id}/cancel (notify spec §18.6), through the
gateway on PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from gaap.db import Database
from services.notify.jobs.models import Job
from services.notify.notifications.models import Notification
from services.notify.schemas import MAX_BULK_ROWS
from tests.notify.bulk.helpers import encoded_csv, get_job, headers, post_bulk, sms_rows
from tests.notify.conftest import NotifyRig, change_service


def test_rows_are_accepted_as_one_job(notify_rig: NotifyRig) -> None:
    answer = post_bulk(
        notify_rig, {"name": "Reminders", "template_id": notify_rig.templates["sms"], "rows": sms_rows(3)}
    )
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    assert set(data) == {
        "id",
        "name",
        "template_id",
        "template_version",
        "notification_count",
        "job_status",
        "scheduled_for",
        "created_at",
    }
    assert data["name"] == "Reminders"
    assert data["template_id"] == notify_rig.templates["sms"]
    assert data["notification_count"] == 3
    assert data["job_status"] == "in progress"
    assert data["scheduled_for"] is None
    progress = get_job(notify_rig, data["id"])
    assert progress.status_code == 200
    assert progress.json()["data"]["notification_count"] == 3
    assert sum(progress.json()["data"]["statuses"].values()) == 3


def test_a_base64_csv_with_headers_matched_as_placeholders_are(notify_rig: NotifyRig) -> None:
    rows = [["Phone Number", "NAME", "co-de"], ["07700900123", "Ada", "1"], ["", "", ""], ["07700900456", "Bo", "2"]]
    answer = post_bulk(
        notify_rig, {"name": "csv", "template_id": notify_rig.templates["sms"], "csv": encoded_csv(rows)}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["notification_count"] == 2  # the blank line is not a row


async def test_every_row_is_checked_and_nothing_is_stored_unless_all_pass(notify_rig: NotifyRig, db: Database) -> None:
    name = f"bad-{uuid.uuid4()}"
    rows = [["phone number", "name", "code"], ["07700900123", "Ada", "1"], ["12", "Bo", "2"], ["07700900123", "", "3"]]
    rows.append(["not a number", "Cy", "4"])
    answer = post_bulk(notify_rig, {"name": name, "template_id": notify_rig.templates["sms"], "rows": rows})
    assert answer.status_code == 400
    body = answer.json()
    assert body["status_code"] == 400
    messages = [item["message"] for item in body["errors"]]
    assert messages[0] == "Row 3: phone_number Not enough digits"
    assert messages[1].startswith("Row 5: ")
    assert len(messages) == 2  # an empty value is a value (GOV.UK fills it with nothing)
    async with db.read_session() as session:
        assert (await session.execute(select(func.count()).where(Job.name == name))).scalar() == 0


def test_the_recipient_column_is_required(notify_rig: NotifyRig) -> None:
    rows = [["mobile", "name", "code"], ["07700900123", "Ada", "1"]]
    answer = post_bulk(notify_rig, {"name": "x", "template_id": notify_rig.templates["sms"], "rows": rows})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"error": "BadRequestError", "message": "The file needs a column called ‘phone number’"}
    ]


def test_missing_placeholders_and_unknown_templates_are_refused(notify_rig: NotifyRig) -> None:
    rows = [["phone number", "name"], ["07700900123", "Ada"]]
    answer = post_bulk(notify_rig, {"name": "x", "template_id": notify_rig.templates["sms"], "rows": rows})
    assert answer.json()["errors"][0]["message"] == "Row 2: Missing personalisation: code"
    unknown = post_bulk(notify_rig, {"name": "x", "template_id": str(uuid.uuid4()), "rows": sms_rows(1)})
    assert unknown.json()["errors"] == [{"error": "BadRequestError", "message": "Template not found"}]


def test_bodies_are_checked_by_the_schema_first(notify_rig: NotifyRig) -> None:
    both = {"name": "x", "template_id": notify_rig.templates["sms"], "rows": sms_rows(1), "csv": "eA=="}
    assert post_bulk(notify_rig, both).json()["errors"][0]["message"] == "Exactly one of rows or csv must be given"
    bad = post_bulk(notify_rig, {"name": "x", "template_id": notify_rig.templates["sms"], "csv": "***"})
    assert bad.json()["errors"][0]["message"] == "csv is not a base64-encoded UTF-8 file"


def test_at_most_100000_rows(notify_rig: NotifyRig) -> None:
    body = {"name": "big", "template_id": notify_rig.templates["sms"], "csv": encoded_csv(sms_rows(MAX_BULK_ROWS + 1))}
    answer = post_bulk(notify_rig, body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == (
        f"The file has {MAX_BULK_ROWS + 1} rows: at most {MAX_BULK_ROWS} can be sent in one job"
    )


def test_the_daily_limit_is_checked_for_the_whole_batch(notify_rig: NotifyRig) -> None:
    change_service(notify_rig, settings={"notify": {"sms_message_limit": 2}})
    try:
        body = {"name": "x", "template_id": notify_rig.templates["sms"], "rows": sms_rows(3)}
        answer = post_bulk(notify_rig, body, key="live")
        assert answer.status_code == 429
        assert answer.json()["errors"] == [
            {"error": "TooManyRequestsError", "message": "Exceeded send limits (sms: 2) for today"}
        ]
    finally:
        change_service(notify_rig, settings={"notify": {}})


async def test_job_notifications_are_listed_with_include_jobs_only(notify_rig: NotifyRig, db: Database) -> None:
    answer = post_bulk(notify_rig, {"name": "listed", "template_id": notify_rig.templates["sms"], "rows": sms_rows(2)})
    job_id = uuid.UUID(answer.json()["data"]["id"])
    async with db.read_session() as session:
        ids = {
            str(i)
            for i in (await session.execute(select(Notification.id).where(Notification.job_id == job_id))).scalars()
        }
    assert len(ids) == 2
    url = f"{notify_rig.url}/v2/notifications"
    async with httpx.AsyncClient(headers=headers(notify_rig)) as client:
        without = (await client.get(url)).json()["notifications"]
        listed = (await client.get(url, params={"include_jobs": "true"})).json()["notifications"]
    assert not ids & {n["id"] for n in without}
    assert ids <= {n["id"] for n in listed}


def test_a_scheduled_job_can_be_cancelled_until_its_time(notify_rig: NotifyRig) -> None:
    permissions = ["email", "sms", "letter", "international_sms", "schedule_notifications"]
    change_service(notify_rig, settings={"notify": {"permissions": permissions}})
    try:
        when = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
        body = {"name": "later", "template_id": notify_rig.templates["sms"], "rows": sms_rows(2), "scheduled_for": when}
        data = post_bulk(notify_rig, body).json()["data"]
        assert data["job_status"] == "scheduled"
        assert data["scheduled_for"].startswith(when)
        cancel = httpx.post(f"{notify_rig.url}/v2/jobs/{data['id']}/cancel", headers=headers(notify_rig))
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["data"]["job_status"] == "cancelled"
        progress = get_job(notify_rig, data["id"]).json()["data"]
        assert progress["job_status"] == "cancelled"
        assert progress["statuses"] == {"cancelled": 2}
        again = httpx.post(f"{notify_rig.url}/v2/jobs/{data['id']}/cancel", headers=headers(notify_rig))
        assert again.status_code == 400
        assert again.json()["errors"][0]["error"] == "BadRequestError"
    finally:
        change_service(notify_rig, settings={"notify": {}})


def test_a_job_not_scheduled_cannot_be_cancelled(notify_rig: NotifyRig) -> None:
    data = post_bulk(notify_rig, {"name": "now", "template_id": notify_rig.templates["sms"], "rows": sms_rows(1)})
    job_id = data.json()["data"]["id"]
    answer = httpx.post(f"{notify_rig.url}/v2/jobs/{job_id}/cancel", headers=headers(notify_rig))
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == (
        "Job cannot be cancelled - only scheduled jobs that have not started can be cancelled"
    )


def test_unknown_and_malformed_job_ids(notify_rig: NotifyRig) -> None:
    missing = get_job(notify_rig, str(uuid.uuid4()))
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"error": "NoResultFound", "message": "No result found"}]
    malformed = get_job(notify_rig, "nope")
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["message"] == "job_id is not a valid UUID"
