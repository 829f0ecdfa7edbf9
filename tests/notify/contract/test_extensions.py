"""Notify's additions beyond GOV.UK Notify (spec §18): idempotent sends, scheduled sending, `/v2/limits`."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from notifications_python_client.authentication import create_jwt_token

from tests.notify.conftest import NotifyRig, change_service

PERSONALISATION = {"name": "Ada", "code": "1"}


def headers(rig: NotifyRig, key: str = "live", **extra: str) -> dict[str, str]:
    full = rig.keys[key]
    return {"Authorization": "Bearer " + create_jwt_token(full[-36:], full[-73:-37]), **extra}


def sms_body(rig: NotifyRig, **extra: object) -> dict[str, object]:
    return {
        "phone_number": "07700900123",
        "template_id": rig.templates["sms"],
        "personalisation": PERSONALISATION,
        **extra,
    }


def test_idempotent_send_replays_the_first_201(notify_rig: NotifyRig) -> None:
    key = f"send-{uuid.uuid4()}"
    url = f"{notify_rig.url}/v2/notifications/sms"
    first = httpx.post(url, json=sms_body(notify_rig), headers=headers(notify_rig, **{"Idempotency-Key": key}))
    assert first.status_code == 201
    again = httpx.post(url, json=sms_body(notify_rig), headers=headers(notify_rig, **{"Idempotency-Key": key}))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = httpx.post(
        url, json=sms_body(notify_rig, reference="different"), headers=headers(notify_rig, **{"Idempotency-Key": key})
    )
    assert other.status_code == 409
    assert other.json()["error"] == "IdempotencyConflict"
    assert other.json()["message"] == "Idempotency-Key has already been used with a different request body"
    assert other.json()["request_id"] == other.headers["x-request-id"]


def test_an_error_frees_the_key_for_a_corrected_retry(notify_rig: NotifyRig) -> None:
    key = f"fix-{uuid.uuid4()}"
    url = f"{notify_rig.url}/v2/notifications/sms"
    bad = httpx.post(
        url,
        json=sms_body(notify_rig, phone_number="not a number"),
        headers=headers(notify_rig, **{"Idempotency-Key": key}),
    )
    assert bad.status_code == 400
    good = httpx.post(url, json=sms_body(notify_rig), headers=headers(notify_rig, **{"Idempotency-Key": key}))
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


def test_concurrent_duplicates_send_once(notify_rig: NotifyRig) -> None:
    key = f"race-{uuid.uuid4()}"
    url = f"{notify_rig.url}/v2/notifications/sms"

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(
                *(
                    client.post(url, json=sms_body(notify_rig), headers=headers(notify_rig, **{"Idempotency-Key": key}))
                    for _ in range(8)
                )
            )

    responses = asyncio.run(fire())
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1, [r.text for r in responses]
    assert {r.status_code for r in responses} <= {201, 409}


def test_a_malformed_key_is_a_platform_400(notify_rig: NotifyRig) -> None:
    response = httpx.post(
        f"{notify_rig.url}/v2/notifications/sms",
        json=sms_body(notify_rig),
        headers=headers(notify_rig, **{"Idempotency-Key": "no spaces allowed"}),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "ValidationError"


def test_scheduled_sending_and_cancel(notify_rig: NotifyRig) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    url = f"{notify_rig.url}/v2/notifications/sms"
    # Without the permission: validated, ignored, null (GOV.UK's behaviour); more than 24 h ahead is refused.
    refused = httpx.post(url, json=sms_body(notify_rig, scheduled_for=when), headers=headers(notify_rig))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "scheduled_for datetime can only be 24 hours in the future"
    change_service(
        notify_rig,
        settings={"notify": {"permissions": ["email", "sms", "letter", "international_sms", "schedule_notifications"]}},
    )
    try:
        sent = httpx.post(url, json=sms_body(notify_rig, scheduled_for=when), headers=headers(notify_rig))
        assert sent.status_code == 201, sent.text
        assert sent.json()["scheduled_for"].startswith(when)
        notification_id = sent.json()["id"]
        cancel = httpx.post(f"{notify_rig.url}/v2/notifications/{notification_id}/cancel", headers=headers(notify_rig))
        assert cancel.status_code == 200
        assert cancel.json()["status"] == "cancelled"
        again = httpx.post(f"{notify_rig.url}/v2/notifications/{notification_id}/cancel", headers=headers(notify_rig))
        assert again.status_code == 400
        assert again.json()["errors"][0]["error"] == "BadRequestError"
    finally:
        change_service(notify_rig, settings={"notify": {}})


def test_limits(notify_rig: NotifyRig) -> None:
    before = httpx.get(f"{notify_rig.url}/v2/limits", headers=headers(notify_rig)).json()
    assert (
        httpx.post(
            f"{notify_rig.url}/v2/notifications/sms", json=sms_body(notify_rig), headers=headers(notify_rig)
        ).status_code
        == 201
    )
    after = httpx.get(f"{notify_rig.url}/v2/limits", headers=headers(notify_rig)).json()
    assert after["key_type"] == "normal"
    assert after["daily"]["sms"]["limit"] == 250_000
    assert after["daily"]["sms"]["sent_today"] == before["daily"]["sms"]["sent_today"] + 1
    assert after["daily"]["sms"]["remaining"] == 250_000 - after["daily"]["sms"]["sent_today"]
    assert after["rate_limit"]["per_minute"] == 3000
    assert after["rate_limit"]["burst"] == 1000
    assert 0 <= after["rate_limit"]["remaining"] <= 1000
    test_key = httpx.get(f"{notify_rig.url}/v2/limits", headers=headers(notify_rig, "test")).json()
    assert test_key["counted_towards_daily_limits"] is False
    assert test_key["daily"]["email"]["sent_today"] == 0


@pytest.mark.parametrize("path", ["/v2/limits"])
def test_limits_need_a_key(notify_rig: NotifyRig, path: str) -> None:
    response = httpx.get(f"{notify_rig.url}{path}")
    assert response.status_code == 401
