"""SMS delivery end to end (notify spec §16): the official client sends through the gateway, notify's worker hands the
text to the fake SMS provider over real HTTP, and the provider's receipt comes back through the gateway to notify's
webhook. PostgreSQL and Redis are real; faults are set through the fake's control API."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import ValidationError

from gaap.db import Database, utcnow
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import JobQueue, sweep_once
from gaap.settings import ConfigurationError
from services.notify.delivery import tasks
from services.notify.delivery.failover import ProviderWeights
from services.notify.settings import NotifySettings
from services.notify.tenancy.models import NotifyService
from services.notify.worker import worker_spec
from tests.notify.conftest import NotifyRig, SmsFake
from tests.notify.delivery.support import (
    PERSONALISATION,
    RecordedJobs,
    client,
    eventually,
    final_in_api,
    handler_ctx,
    insert_text,
    row_of,
    running_worker,
    status_becomes,
)


async def test_a_live_text_is_delivered_once_and_ends_delivered(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    api = client(notify_rig, "live")
    async with running_worker(notify_rig, email_sink, sms=sms_fake):
        sent = await asyncio.to_thread(
            api.send_sms_notification, "07700 900123", notify_rig.templates["sms"], PERSONALISATION
        )
        got = await final_in_api(api, sent["id"])
    assert got["status"] == "delivered"
    assert got["sent_at"] is not None and got["completed_at"] is not None
    row = await row_of(db, sent["id"])
    assert row is not None and row.sent_by in {"mmg", "firetext"}
    assert (row.attempt, row.billable_units) == (1, 1)
    copies = sms_fake.copies(sent["id"])
    assert copies == [(row.sent_by, "Hello Ada, your code is 123456", sent["content"]["from_number"])]
    assert row.reference is not None  # the provider's own id for the message


async def test_the_text_carries_the_service_prefix_and_is_billed_for_it(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    """§9.5: with `prefix_sms` the provider gets `<Service name>: <body>` (the body as stored, not filled again)."""
    service_id = uuid.uuid4()
    async with db.write_session() as session:
        session.add(NotifyService(id=service_id, name="Prefixed", prefix_sms=True, permissions=["sms"]))
    body = "x" * 130 + " ((not a placeholder))"  # 152 characters: one fragment without the prefix, two with it
    ident = await insert_text(db, notify_rig, service_id=service_id, body=body, reply_to_text="07700900999")
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs(), sms=sms_fake) as ctx:
        await tasks.deliver(ctx, str(ident))
    row = await row_of(db, ident)
    assert row is not None and row.billable_units == 2
    assert row.status in {"sending", "delivered"}  # the receipt may already be in
    [(provider, content, sender)] = sms_fake.copies(ident)
    assert (provider, content, sender) == (row.sent_by, f"Prefixed: {body}", "07700900999")


async def test_international_texts_go_to_an_international_provider_and_end_sent(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    """§16.1: `sent` is final; the provider's later receipt changes nothing. Only `mmg` sends abroad here, even
    with all the domestic traffic weighted to `firetext`."""
    await weights.set({"mmg": 0, "firetext": 100}, utcnow())
    ident = await insert_text(
        db, notify_rig, to="+12025550123", normalised_to="12025550123", international=True, phone_prefix="1"
    )
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs(), sms=sms_fake) as ctx:
        await tasks.deliver(ctx, str(ident))
    row = await row_of(db, ident)
    assert row is not None and (row.status, row.sent_by) == ("sent", "mmg")
    assert [c[0] for c in sms_fake.copies(ident)] == ["mmg"]

    async def receipt_posted() -> bool:
        return sms_fake.reported(ident) == "delivered"

    await eventually(receipt_posted)
    after = await row_of(db, ident)
    assert after is not None and (after.status, after.updated_at) == ("sent", row.updated_at)


async def test_a_provider_timeout_is_retried_at_the_same_provider_without_a_duplicate(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    """The provider stores the text but answers after the worker's timeout: a provider exception (§16.3), retried at
    once. The text may be with that provider, so the retry goes back to it (even with every point of weight moved to
    the other one) and is answered 409 for our reference: accepted, not sent twice."""
    for provider in ("mmg", "firetext"):
        sms_fake.control(provider, mode="slow", delay_seconds=1.5)
    ident = await insert_text(db, notify_rig)
    jobs = RecordedJobs()
    async with handler_ctx(notify_rig, email_sink, jobs=jobs, sms=sms_fake, sms_timeout_seconds=0.5) as ctx:
        await tasks.deliver(ctx, str(ident))
        first = await row_of(db, ident)
        assert first is not None and (first.status, first.attempt) == ("created", 1)
        pinned = first.sent_by
        assert pinned in {"mmg", "firetext"}
        assert jobs.queued == [("deliver", str(ident), tasks.RETRY_LANE, first.next_attempt_at)]
        other = "firetext" if pinned == "mmg" else "mmg"
        await weights.set({pinned: 0, other: 100}, utcnow())
        sms_fake.reset()
        duplicates = sms_fake.stats()["duplicates"][pinned]

        async def stored() -> bool:
            return bool(sms_fake.copies(ident))

        await eventually(stored)  # the slow first call has now been taken
        await tasks.deliver(ctx, str(ident))
    row = await status_becomes(db, ident, "delivered")  # the receipt of the first copy
    assert (row.attempt, row.sent_by) == (2, pinned)
    assert [c[0] for c in sms_fake.copies(ident)] == [pinned]
    assert sms_fake.stats()["duplicates"][pinned] == duplicates + 1


async def test_a_refusal_releases_the_provider_for_the_next_attempt(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    """A provider that answers with an error has not taken the text, so the retry chooses again."""
    await weights.set({"mmg": 100, "firetext": 0}, utcnow())
    sms_fake.control("mmg", mode="error", error_status=503)
    ident = await insert_text(db, notify_rig)
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs(), sms=sms_fake) as ctx:
        await tasks.deliver(ctx, str(ident))
        failed = await row_of(db, ident)
        assert failed is not None and (failed.status, failed.attempt, failed.sent_by) == ("created", 1, None)
        await weights.set({"mmg": 0, "firetext": 100}, utcnow())
        await tasks.deliver(ctx, str(ident))
    row = await row_of(db, ident)
    assert row is not None and (row.attempt, row.sent_by) == (2, "firetext")
    assert row.status in {"sending", "delivered"}  # the receipt may already be in
    assert [c[0] for c in sms_fake.copies(ident)] == ["firetext"]


async def test_a_refused_message_is_a_technical_failure_at_once(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    for provider in ("mmg", "firetext"):
        sms_fake.control(provider, mode="error", error_status=400)
    ident = await insert_text(db, notify_rig)
    jobs = RecordedJobs()
    async with handler_ctx(notify_rig, email_sink, jobs=jobs, sms=sms_fake) as ctx:
        await tasks.deliver(ctx, str(ident))
    row = await row_of(db, ident)
    assert row is not None and (row.status, row.attempt, row.sent_by, row.sent_at) == (
        "technical-failure",
        1,
        None,
        None,
    )
    assert jobs.queued == []
    assert sms_fake.copies(ident) == []


async def test_the_sweep_requeues_lost_texts(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    sweeps = {s.name: s for s in tasks.sweeps()}
    long_ago = utcnow().replace(microsecond=0) - tasks.OVERDUE_GRACE * 5
    ident = await insert_text(db, notify_rig, created_at=long_ago, next_attempt_at=long_ago)
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    try:
        assert await sweep_once(db, jobs, sweeps["created-normal"]) >= 1
    finally:
        await jobs.close()
    async with running_worker(notify_rig, email_sink, sms=sms_fake):
        row = await status_becomes(db, ident, "delivered")
    assert row.attempt == 1 and len(sms_fake.copies(ident)) == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sms_providers": "mmg:50,vodafone:50"}, "NOTIFY_SMS_PROVIDERS: no adapter for vodafone"),
        ({"sms_international_providers": "firetext", "sms_providers": "mmg:100"}, "not in NOTIFY_SMS_PROVIDERS"),
        ({"sms_timeout_seconds": 90.0}, "NOTIFY_SMS_TIMEOUT_SECONDS must be above 0 and below the 90 s lease"),
    ],
)
def test_a_worker_refuses_sms_settings_it_cannot_honour(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        worker_spec(NotifySettings(**values))


@pytest.mark.parametrize(
    "values",
    [
        {"sms_providers": "mmg:101"},
        {"sms_providers": "mmg"},
        {"sms_providers": ""},
        {"sms_international_providers": "MMG!"},
        {"sms_provider_credentials": "mmg=user"},
        {"sms_webhook_credentials": "mmg:user:password"},
    ],
)
def test_malformed_sms_settings_are_refused_when_read(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NotifySettings(**values)
