"""SMS receipts (notify spec §16.5): the fake provider's receipts through the gateway set the final status; the webhook
checks each provider's Basic credentials, turns a decline after `pending` into `temporary-failure`, never moves a
final status back and is idempotent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from gaap.db import Database, utcnow
from gaap.embedded.fake_sms import default_credentials
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.delivery.failover import ProviderWeights
from tests.notify.conftest import NotifyRig, SmsFake
from tests.notify.delivery.support import (
    PERSONALISATION,
    client,
    eventually,
    insert_text,
    row_of,
    running_worker,
    status_becomes,
)

MMG = default_credentials("mmg")


async def post_receipt(
    rig: NotifyRig, reference: object, status: str, *, provider: str = "mmg", auth: Any = MMG
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=rig.url, auth=auth) as http:
        body = {"reference": str(reference), "id": "provider-id", "status": status}
        return await http.post(f"/notifications/sms/{provider}", json=body)


async def sending_text(db: Database, rig: NotifyRig, **values: Any) -> uuid.UUID:
    fields: dict[str, Any] = {"status": "sending", "sent_by": "mmg", "sent_at": utcnow(), "attempt": 1, **values}
    return await insert_text(db, rig, **fields)


async def send_live_text(rig: NotifyRig, phone: str) -> str:
    api = client(rig, "live")
    sent = await asyncio.to_thread(api.send_sms_notification, phone, rig.templates["sms"], PERSONALISATION)
    return str(sent["id"])


@pytest.mark.parametrize(
    ("phone", "pending_first", "reported", "final"),
    [
        ("07700900002", False, "permanent-failure", "permanent-failure"),
        ("07700900002", True, "permanent-failure", "temporary-failure"),  # a decline after `pending`
        ("07700900003", False, "temporary-failure", "temporary-failure"),
        ("07700900123", True, "delivered", "delivered"),
    ],
)
async def test_the_providers_receipts_set_the_final_status(
    notify_rig: NotifyRig,
    db: Database,
    email_sink: SmtpSink,
    sms_fake: SmsFake,
    weights: ProviderWeights,
    phone: str,
    pending_first: bool,
    reported: str,
    final: str,
) -> None:
    for provider in ("mmg", "firetext"):
        sms_fake.control(provider, pending_first=pending_first)
    async with running_worker(notify_rig, email_sink, sms=sms_fake):
        ident = await send_live_text(notify_rig, phone)
        row = await status_becomes(db, ident, final)
    assert row.sent_by in {"mmg", "firetext"}

    async def provider_said() -> bool:  # the provider's last word, as notify read it
        return sms_fake.reported(ident) == reported

    await eventually(provider_said)


async def test_pending_then_a_decline_is_a_temporary_failure_and_final(notify_rig: NotifyRig, db: Database) -> None:
    ident = await sending_text(db, notify_rig)
    pending = await post_receipt(notify_rig, ident, "pending")
    assert pending.json() == {"notification_id": str(ident), "result": "updated", "status": "pending"}
    again = await post_receipt(notify_rig, ident, "pending")
    assert again.json()["result"] == "unchanged"
    declined = await post_receipt(notify_rig, ident, "permanent-failure")
    assert declined.json() == {"notification_id": str(ident), "result": "updated", "status": "temporary-failure"}
    late = await post_receipt(notify_rig, ident, "delivered")
    assert late.json() == {"notification_id": str(ident), "result": "unchanged", "status": "temporary-failure"}
    row = await row_of(db, ident)
    assert row is not None and row.status == "temporary-failure"


async def test_a_decline_without_pending_is_a_permanent_failure_applied_once(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await sending_text(db, notify_rig)
    answers = await asyncio.gather(*(post_receipt(notify_rig, ident, "permanent-failure") for _ in range(5)))
    assert sorted(a.json()["result"] for a in answers) == ["unchanged"] * 4 + ["updated"]
    assert {a.json()["status"] for a in answers} == {"permanent-failure"}
    late = await post_receipt(notify_rig, ident, "pending")  # an interim receipt never reopens a final status
    assert late.json()["status"] == "permanent-failure"


async def test_a_receipt_that_overtakes_the_worker_is_refused_until_the_row_is_sending(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await insert_text(db, notify_rig, attempt=1, sent_by="mmg")  # pinned, being handed over
    early = await post_receipt(notify_rig, ident, "delivered")
    assert early.status_code == 409 and early.json()["error"] == "NotHandedOverYet"
    row = await row_of(db, ident)
    assert row is not None and row.status == "created"


@pytest.mark.parametrize(
    ("reference", "values"),
    [
        ("5f0c7a53-29a1-4c5e-9a7e-3d1b2c4e5f60", None),  # no such notification
        ("not-a-notification", None),
        (None, {"sent_by": "firetext"}),  # another provider's text
        (None, {"key_type": "test", "sent_by": "simulator"}),
        (None, {"notification_type": "email"}),
    ],
)
async def test_receipts_for_texts_this_provider_was_not_given_are_acknowledged_and_ignored(
    notify_rig: NotifyRig, db: Database, reference: str | None, values: dict[str, Any] | None
) -> None:
    ident = await sending_text(db, notify_rig, **values) if values is not None else None
    answer = await post_receipt(notify_rig, reference or ident, "permanent-failure")
    assert answer.status_code == 200 and answer.json()["result"] == "ignored"
    if ident is not None:
        row = await row_of(db, ident)
        assert row is not None and row.status == "sending"


@pytest.mark.parametrize(
    ("auth", "provider", "status"),
    [
        (None, "mmg", 401),
        (("mmg", "wrong"), "mmg", 401),
        (default_credentials("firetext"), "mmg", 401),  # one provider's credentials are not another's
        (MMG, "twilio", 404),
    ],
)
async def test_only_a_configured_provider_with_its_credentials_may_post(
    notify_rig: NotifyRig, db: Database, auth: Any, provider: str, status: int
) -> None:
    ident = await sending_text(db, notify_rig)
    answer = await post_receipt(notify_rig, ident, "delivered", provider=provider, auth=auth)
    assert answer.status_code == status
    assert set(answer.json()) == {"error", "message", "request_id"}  # the platform envelope
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Basic ")
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"


async def test_a_malformed_receipt_is_a_400_and_notify_takes_receipts_only_through_the_gateway(
    notify_rig: NotifyRig, db: Database
) -> None:
    unknown = await post_receipt(notify_rig, uuid.uuid4(), "read")
    assert unknown.status_code == 400 and unknown.json()["error"] == "BadRequest"
    ident = await sending_text(db, notify_rig)
    async with httpx.AsyncClient(base_url=notify_rig.notify_url, auth=MMG) as http:
        direct = await http.post("/notifications/sms/mmg", json={"reference": str(ident), "status": "delivered"})
    assert direct.status_code == 401  # no principal token: not forwarded by the gateway
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending"


async def test_receipts_for_one_text_in_a_batch_apply_in_the_order_given(notify_rig: NotifyRig, db: Database) -> None:
    declined, delivered = await sending_text(db, notify_rig), await sending_text(db, notify_rig)
    batch = [
        {"reference": str(declined), "status": "pending"},
        {"reference": str(delivered), "status": "pending"},
        {"reference": str(declined), "status": "permanent-failure"},  # after `pending`: temporary-failure
        {"reference": str(delivered), "status": "delivered"},
    ]
    async with httpx.AsyncClient(base_url=notify_rig.url, auth=MMG) as http:
        answer = await http.post("/notifications/sms/mmg", json=batch)
    assert answer.status_code == 200
    assert [(a["result"], a["status"]) for a in answer.json()] == [
        ("updated", "temporary-failure"),
        ("updated", "delivered"),
        ("updated", "temporary-failure"),
        ("updated", "delivered"),
    ]
    rows = [await row_of(db, ident) for ident in (declined, delivered)]
    assert [row.status for row in rows if row is not None] == ["temporary-failure", "delivered"]
