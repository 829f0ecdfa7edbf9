"""Email receipts (notify spec §16.5): the sink's receipts through the gateway set the final status; the webhook
checks the provider's Basic credentials, maps outcomes, never moves a final status back and is idempotent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from gaap.db import Database, utcnow
from gaap.embedded.smtp_sink import SmtpSink
from tests.notify.conftest import EMAIL_RECEIPT_PASSWORD, EMAIL_RECEIPT_USER, NotifyRig
from tests.notify.delivery.support import (
    EMAIL_DOMAIN,
    insert_email,
    row_of,
    running_worker,
    status_becomes,
    unique_address,
)
from tests.notify.delivery.test_email import send_live_email

AUTH = (EMAIL_RECEIPT_USER, EMAIL_RECEIPT_PASSWORD)


async def post_receipt(
    rig: NotifyRig, message_id: str, status: str = "delivered", *, auth: Any = AUTH, provider: str = "smtp"
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=rig.url, auth=auth) as http:
        return await http.post(f"/notifications/email/{provider}", json={"message_id": message_id, "status": status})


async def sending_email(db: Database, rig: NotifyRig, **values: Any) -> uuid.UUID:
    now = utcnow()
    fields: dict[str, Any] = {"status": "sending", "sent_by": "smtp", "sent_at": now, "attempt": 1, **values}
    return await insert_email(db, rig, unique_address("receipt"), **fields)


@pytest.mark.parametrize(
    ("local", "final"),
    [("receipt-permanent-bounce", "permanent-failure"), ("receipt-transient-bounce", "temporary-failure")],
)
async def test_bounces_from_the_sink_set_the_failure_statuses(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, local: str, final: str
) -> None:
    async with running_worker(notify_rig, email_sink):
        ident = await send_live_email(notify_rig, unique_address(local))
        row = await status_becomes(db, ident, final)
    assert row.sent_by == "smtp" and row.updated_at is not None


async def test_a_lost_receipt_leaves_the_email_sending(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    dropped = email_sink.stats().get("receipts_dropped", 0)
    async with running_worker(notify_rig, email_sink):
        ident = await send_live_email(notify_rig, unique_address("receipt-drop"))
        await status_becomes(db, ident, "sending")
    assert email_sink.stats()["receipts_dropped"] == dropped + 1
    await asyncio.sleep(0.3)  # long past the sink's receipt delay: nothing came
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"  # until the 72-hour timeout (test_timeouts.py)


async def test_a_receipt_is_applied_once_and_a_final_status_never_moves_back(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await sending_email(db, notify_rig)
    message_id = f"<{ident}@{EMAIL_DOMAIN}>"
    answers = await asyncio.gather(*(post_receipt(notify_rig, message_id) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert sorted(a.json()["result"] for a in answers) == ["unchanged"] * 4 + ["updated"]
    assert {a.json()["status"] for a in answers} == {"delivered"}
    delivered = await row_of(db, ident)
    assert delivered is not None and delivered.status == "delivered"

    late = await post_receipt(notify_rig, message_id.strip("<>"), "permanent-bounce")  # brackets optional
    assert late.status_code == 200
    assert late.json() == {"notification_id": str(ident), "result": "unchanged", "status": "delivered"}
    again = await row_of(db, ident)
    assert again is not None and (again.status, again.updated_at) == ("delivered", delivered.updated_at)


async def test_a_receipt_that_overtakes_the_worker_is_refused_until_the_row_is_sending(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await insert_email(db, notify_rig, unique_address("early"), attempt=1)
    early = await post_receipt(notify_rig, f"{ident}@{EMAIL_DOMAIN}")
    assert early.status_code == 409
    assert early.json()["error"] == "NotHandedOverYet"
    row = await row_of(db, ident)
    assert row is not None and row.status == "created"


@pytest.mark.parametrize(
    "message_id",
    [
        f"5f0c7a53-29a1-4c5e-9a7e-3d1b2c4e5f60@{EMAIL_DOMAIN}",  # no such notification
        "5f0c7a53-29a1-4c5e-9a7e-3d1b2c4e5f61@elsewhere.example",  # not a Message-ID notify writes
        "not-a-notification@example.com",
    ],
)
async def test_receipts_for_messages_notify_did_not_send_are_acknowledged_and_ignored(
    notify_rig: NotifyRig, message_id: str
) -> None:
    answer = await post_receipt(notify_rig, message_id)
    assert answer.status_code == 200
    assert answer.json()["result"] == "ignored"


async def test_a_receipt_cannot_touch_another_providers_or_a_test_keys_notification(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await sending_email(db, notify_rig, key_type="test", sent_by="simulator")
    answer = await post_receipt(notify_rig, f"{ident}@{EMAIL_DOMAIN}", "permanent-bounce")
    assert answer.json()["result"] == "ignored"
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"


@pytest.mark.parametrize(
    ("auth", "provider", "status"),
    [
        (None, "smtp", 401),
        ((EMAIL_RECEIPT_USER, "wrong"), "smtp", 401),
        (("someone", EMAIL_RECEIPT_PASSWORD), "smtp", 401),
        (AUTH, "ses", 404),
    ],
)
async def test_only_the_configured_provider_with_its_credentials_may_post(
    notify_rig: NotifyRig, db: Database, auth: Any, provider: str, status: int
) -> None:
    ident = await sending_email(db, notify_rig)
    answer = await post_receipt(notify_rig, f"{ident}@{EMAIL_DOMAIN}", auth=auth, provider=provider)
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"error", "message", "request_id"}  # the platform envelope
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Basic ")
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"


async def test_a_malformed_receipt_is_a_400_in_the_platform_envelope(notify_rig: NotifyRig) -> None:
    async with httpx.AsyncClient(base_url=notify_rig.url, auth=AUTH) as http:
        answer = await http.post("/notifications/email/smtp", json={"message_id": "x@y.z", "status": "opened"})
        not_json = await http.post(
            "/notifications/email/smtp", content=b"{", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "BadRequest"
    assert not_json.status_code == 400


async def test_notify_takes_receipts_only_through_the_gateway(notify_rig: NotifyRig, db: Database) -> None:
    ident = await sending_email(db, notify_rig)
    async with httpx.AsyncClient(base_url=notify_rig.notify_url, auth=AUTH) as http:
        answer = await http.post(
            "/notifications/email/smtp", json={"message_id": f"{ident}@{EMAIL_DOMAIN}", "status": "delivered"}
        )
    assert answer.status_code == 401  # no principal token: not forwarded by the gateway
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"


async def post_batch(rig: NotifyRig, batch: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=rig.url, auth=AUTH) as http:
        return await http.post("/notifications/email/smtp", json=batch)


async def test_a_batch_of_receipts_is_answered_receipt_by_receipt_in_order(notify_rig: NotifyRig, db: Database) -> None:
    delivered, bounced = await sending_email(db, notify_rig), await sending_email(db, notify_rig)
    early = await insert_email(db, notify_rig, unique_address("early"), attempt=1)
    unknown = uuid.uuid4()
    batch = [
        {"message_id": f"<{delivered}@{EMAIL_DOMAIN}>", "status": "delivered"},
        {"message_id": f"{bounced}@{EMAIL_DOMAIN}", "status": "permanent-bounce"},
        {"message_id": f"<{early}@{EMAIL_DOMAIN}>", "status": "delivered"},
        {"message_id": f"<{unknown}@{EMAIL_DOMAIN}>", "status": "delivered"},
        {"message_id": f"<{delivered}@{EMAIL_DOMAIN}>", "status": "delivered"},  # a repeat within the batch
        {"message_id": f"<{bounced}@{EMAIL_DOMAIN}>", "status": "delivered"},  # too late: already final
    ]
    answer = await post_batch(notify_rig, batch)
    assert answer.status_code == 200
    assert [(a["notification_id"], a["result"], a["status"]) for a in answer.json()] == [
        (str(delivered), "updated", "delivered"),
        (str(bounced), "updated", "permanent-failure"),
        (str(early), "retry", "created"),  # alone it would be a 409; the provider posts it again
        (str(unknown), "ignored", None),
        (str(delivered), "unchanged", "delivered"),
        (str(bounced), "unchanged", "permanent-failure"),
    ]
    rows = [await row_of(db, ident) for ident in (delivered, bounced, early)]
    assert [row.status for row in rows if row is not None] == ["delivered", "permanent-failure", "created"]


@pytest.mark.parametrize("batch", [[], [{"message_id": "x@y.z", "status": "delivered"}] * 1001, [{"status": "x"}]])
async def test_an_empty_oversized_or_malformed_batch_is_a_400(notify_rig: NotifyRig, batch: Any) -> None:
    answer = await post_batch(notify_rig, batch)
    assert answer.status_code == 400
    assert answer.json()["error"] == "BadRequest"
