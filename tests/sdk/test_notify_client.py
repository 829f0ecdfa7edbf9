"""`NotifyClient` and `AsyncNotifyClient` against the real gateway and notify: every method, both ways, and the
retries through a proxy that fails or loses answers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from gaap_client import APIError, AsyncNotifyClient, NotifyClient, RateLimitedError, RetryPolicy, TransportError
from gaap_client._core import USER_AGENT

from tests.notify.conftest import NotifyRig
from tests.notify.letters.test_precompiled import letter

EMAIL = "someone@example.gov.uk"
PHONE = "07700900123"
PERSONALISATION = {"name": "Ada", "date": "1 December", "code": "123456", "urgent": ""}
ADDRESS = {
    "address_line_1": "Ada Lovelace",
    "address_line_2": "1 Example Street",
    "postcode": "SW1A 1AA",
    "name": "Ada",
}
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)


def clients(rig: NotifyRig, key: str = "test", url: str | None = None) -> tuple[NotifyClient, AsyncNotifyClient]:
    base = url or rig.url
    return NotifyClient(base, rig.keys[key], retry=FAST), AsyncNotifyClient(base, rig.keys[key], retry=FAST)


async def test_sends_on_every_channel_and_reads_them_back(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig)
    templates = notify_rig.templates
    try:
        sent = [
            sync.send_email(EMAIL, templates["email"], personalisation=PERSONALISATION, reference="sdk-sync"),
            await aio.send_email(EMAIL, templates["email"], personalisation=PERSONALISATION, reference="sdk-async"),
            sync.send_sms(PHONE, templates["sms"], personalisation=PERSONALISATION),
            await aio.send_sms(PHONE, templates["sms"], personalisation=PERSONALISATION),
            sync.send_letter(templates["letter"], ADDRESS),
            await aio.send_letter(templates["letter"], ADDRESS, reference="sdk-letter"),
        ]
        assert sent[0]["content"]["subject"] == "Your appointment on 1 December"
        assert sent[1]["reference"] == "sdk-async"
        assert sent[2]["content"]["body"] == "Hello Ada, your code is 123456"
        assert sent[5]["content"]["subject"] == "Your licence"
        for answer in sent:
            assert sync.get_notification(answer["id"])["id"] == answer["id"]
            assert (await aio.get_notification(answer["id"]))["template"]["id"] == answer["template"]["id"]
        letter_id = sent[4]["id"]
        assert sync.letter_pdf(letter_id).startswith(b"%PDF")
        assert (await aio.letter_pdf(letter_id)).startswith(b"%PDF")
    finally:
        sync.close()
        await aio.aclose()


async def test_a_precompiled_letter(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig)
    try:
        first = sync.send_precompiled_letter("sdk-pdf-sync", letter())
        second = await aio.send_precompiled_letter("sdk-pdf-async", letter(), postage="first")
        assert first["reference"] == "sdk-pdf-sync"
        assert second["postage"] == "first"
    finally:
        sync.close()
        await aio.aclose()


async def test_listing_fetches_pages_only_as_they_are_used(notify_rig: NotifyRig, fault_proxy: Any) -> None:
    proxy, url = fault_proxy
    reference = f"sdk-pages-{uuid.uuid4().hex[:8]}"
    async with AsyncNotifyClient(notify_rig.url, notify_rig.keys["test"]) as sender:
        gate = asyncio.Semaphore(8)  # the rig's notify is one process: a few at a time, as a service would

        async def one() -> None:
            async with gate:
                await sender.send_sms(PHONE, notify_rig.templates["sms"], personalisation=PERSONALISATION,
                                      reference=reference)  # fmt: skip

        await asyncio.gather(*(one() for _ in range(255)))
    sync, aio = clients(notify_rig, url=url)
    try:
        listing = sync.notifications(template_type="sms", reference=reference)
        first = next(listing)
        assert first["reference"] == reference
        assert sum(1 for m, path, _ in proxy.seen if path == "/v2/notifications") == 1  # one page so far
        assert 1 + sum(1 for _ in listing) == 255
        ids = [n["id"] async for n in aio.notifications(template_type="sms", reference=reference)]
        assert len(set(ids)) == 255
        assert sum(1 for m, path, _ in proxy.seen if path == "/v2/notifications") == 6  # 2 pages + 1 empty, twice
    finally:
        sync.close()
        await aio.aclose()


async def test_templates_previews_received_texts_and_limits(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig)
    email = notify_rig.templates["email"]
    try:
        template = sync.get_template(email)
        assert template["id"] == email
        assert (await aio.get_template_version(email, template["version"]))["version"] == template["version"]
        assert email in {t["id"] for t in sync.templates()}
        assert {t["type"] for t in await aio.templates(template_type="sms")} == {"sms"}
        preview = sync.preview_template(email, PERSONALISATION)
        assert preview["subject"] == "Your appointment on 1 December"
        assert (await aio.preview_template(email, PERSONALISATION))["body"] == preview["body"]
        assert list(sync.received_texts()) == [t async for t in aio.received_texts()]
        limits = sync.limits()
        assert limits["key_type"] == "test"
        assert (
            (await aio.limits())["daily"].keys()
            == limits["daily"].keys()
            == {"email", "sms", "letter", "international_sms"}
        )
    finally:
        sync.close()
        await aio.aclose()


async def test_errors_are_typed_and_say_whether_a_retry_is_safe(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig)
    try:
        with pytest.raises(APIError) as refused:
            sync.send_email("not-an-email", notify_rig.templates["email"], personalisation=PERSONALISATION)
        assert (refused.value.status_code, refused.value.code) == (400, "ValidationError")
        assert refused.value.messages == ["email_address Not a valid email address"]
        assert refused.value.retry_safe is False
        with pytest.raises(APIError) as missing:
            await aio.get_notification(str(uuid.uuid4()))
        assert (missing.value.status_code, missing.value.code) == (404, "NoResultFound")
        with pytest.raises(APIError) as not_scheduled:
            await aio.cancel_notification(
                (await aio.send_sms(PHONE, notify_rig.templates["sms"], personalisation=PERSONALISATION))["id"]
            )
        assert not_scheduled.value.code == "BadRequestError"
    finally:
        sync.close()
        await aio.aclose()
    revoked_key = notify_rig.keys["test"][:-4] + "0000"
    with NotifyClient(notify_rig.url, revoked_key) as wrong:
        with pytest.raises(APIError) as denied:
            wrong.get_template(notify_rig.templates["email"])
        assert (denied.value.status_code, denied.value.code) == (403, "AuthError")
    with pytest.raises(ValueError, match="not a Notify API key"):
        NotifyClient(notify_rig.url, "nonsense")


@pytest.mark.parametrize("fault", ["503", "lose", "429"])
async def test_a_send_retried_after_a_failure_is_done_once(notify_rig: NotifyRig, fault_proxy: Any, fault: str) -> None:
    proxy, url = fault_proxy
    sync, aio = clients(notify_rig, url=url)
    reference = f"sdk-retry-{fault}-{uuid.uuid4().hex[:8]}"
    try:
        proxy.faults.append(fault)
        first = sync.send_sms(PHONE, notify_rig.templates["sms"], personalisation=PERSONALISATION, reference=reference)
        proxy.faults.append(fault)
        second = await aio.send_sms(
            PHONE, notify_rig.templates["sms"], personalisation=PERSONALISATION, reference=reference
        )
        sends = [entry for entry in proxy.seen if entry[1] == "/v2/notifications/sms"]
        assert len(sends) == 4
        assert sends[0][2] == sends[1][2] and sends[2][2] == sends[3][2], "each retry reuses its call's key"
        assert sends[0][2] != sends[2][2]
        stored = [n["id"] for n in sync.notifications(template_type="sms", reference=reference)]
        assert sorted(stored) == sorted([first["id"], second["id"]]), "one notification per call, however retried"
    finally:
        sync.close()
        await aio.aclose()


async def test_retries_stop_at_the_policy_and_say_what_is_safe(notify_rig: NotifyRig, fault_proxy: Any) -> None:
    proxy, url = fault_proxy
    sync, aio = clients(notify_rig, url=url)
    try:
        proxy.faults.extend(["503"] * 3)
        with pytest.raises(APIError) as failed:
            sync.get_template(notify_rig.templates["email"])
        assert (failed.value.status_code, failed.value.retry_safe) == (503, True)
        proxy.faults.extend(["429"] * 3)
        with pytest.raises(RateLimitedError) as limited:
            await aio.get_template(notify_rig.templates["email"])
        assert limited.value.retry_safe is True
    finally:
        sync.close()
        await aio.aclose()
    async with AsyncNotifyClient("http://127.0.0.1:9", notify_rig.keys["test"], retry=FAST) as nowhere:
        with pytest.raises(TransportError) as unreachable:
            await nowhere.send_email(EMAIL, notify_rig.templates["email"], personalisation=PERSONALISATION)
        assert unreachable.value.retry_safe is True  # a POST with its Idempotency-Key


async def test_requests_carry_the_versioned_user_agent(notify_rig: NotifyRig, fault_proxy: Any) -> None:
    proxy, url = fault_proxy
    with NotifyClient(url, notify_rig.keys["test"]) as sync:
        sync.get_template(notify_rig.templates["email"])
    assert proxy.last_headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("gaap-client/0.1.0 ")


async def test_templates_are_created_through_the_api_with_a_managing_key(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig, key="manage")
    try:
        made = sync.create_template(f"SDK {uuid.uuid4().hex[:8]}", "sms", "Your code is ((code))")
        assert (made["type"], made["version"]) == ("sms", 1)
        email = await aio.create_template(f"SDK {uuid.uuid4().hex[:8]}", "email", "Hello ((name))", subject="Hi")
        assert email["subject"] == "Hi"
        assert {made["id"], email["id"]} <= {t["id"] for t in sync.templates()}
    finally:
        sync.close()
        await aio.aclose()
    with NotifyClient(notify_rig.url, notify_rig.keys["test"]) as plain, pytest.raises(APIError) as refused:
        plain.create_template("Not allowed", "sms", "Hello")
    assert refused.value.code == "MissingScope"


async def test_bulk_jobs_are_sent_followed_and_cancelled(notify_rig: NotifyRig) -> None:
    sync, aio = clients(notify_rig)
    templates = notify_rig.templates
    try:
        csv = f"phone number,name,code\n{PHONE},Ada,1\n{PHONE},Bo,2\n".encode()
        job = sync.send_bulk("sdk csv", templates["sms"], csv=csv)
        assert job["notification_count"] == 2
        assert job["job_status"] == "in progress"
        rows = [["phone number", "name", "code"], [PHONE, "Cy", "3"]]
        other = await aio.send_bulk("sdk rows", templates["sms"], rows=rows)
        assert other["name"] == "sdk rows"
        progress = sync.get_job(job["id"])
        assert progress["id"] == job["id"]
        assert sum(progress["statuses"].values()) == 2
        assert (await aio.get_job(other["id"]))["notification_count"] == 1
        with pytest.raises(APIError) as refused:
            sync.cancel_job(job["id"])  # not scheduled
        assert refused.value.status_code == 400
        with pytest.raises(ValueError):
            sync.send_bulk("neither", templates["sms"])
    finally:
        sync.close()
        await aio.aclose()
