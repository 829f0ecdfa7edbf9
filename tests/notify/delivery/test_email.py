"""Email delivery end to end (notify spec §16): the official client sends through the gateway, notify's worker hands
the email to the development SMTP sink over real SMTP, and the sink's receipt comes back through the gateway to
notify's webhook. PostgreSQL and Redis are real; faults are injected by recipient address (see `smtp_sink`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import update

from gaap.db import Database, utcnow
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import JobQueue, job_id, sweep_once
from services.notify.delivery import tasks
from services.notify.tenancy.models import NotifyService
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.conftest import SLOW_REPLY_SECONDS
from tests.notify.delivery.support import (
    EMAIL_DOMAIN,
    EMAIL_PERSONALISATION,
    RecordedJobs,
    client,
    copies_stored,
    final_in_api,
    handler_ctx,
    insert_email,
    insert_row,
    row_of,
    running_worker,
    status_becomes,
    stored,
    unique_address,
)

UNSUBSCRIBE = "https://example.gov.uk/unsubscribe/ada"


async def send_live_email(rig: NotifyRig, to: str, **options: object) -> str:
    """Send through the gateway with the live key; the notification's id."""
    api = client(rig, "live")
    sent = await asyncio.to_thread(
        api.send_email_notification, to, rig.templates["email"], {**EMAIL_PERSONALISATION, "urgent": "yes"}, **options
    )
    return str(sent["id"])


async def test_a_live_email_is_delivered_once_and_ends_delivered(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    to = unique_address("ada")
    async with running_worker(notify_rig, email_sink):
        ident = await send_live_email(notify_rig, to, one_click_unsubscribe_url=UNSUBSCRIBE)
        got = await final_in_api(client(notify_rig, "live"), ident)
    assert got["status"] == "delivered"
    assert got["sent_at"] is not None and got["completed_at"] is not None
    row = await row_of(db, ident)
    assert row is not None
    assert (row.attempt, row.sent_by, row.reference) == (1, "smtp", f"{ident}@{EMAIL_DOMAIN}")
    assert copies_stored(email_sink, ident) == 1

    email = stored(email_sink, ident)
    assert email is not None
    assert email.envelope_to == (to,) and email.to == (to,)
    assert email.sender.startswith("Notify tests <") and email.sender.endswith(f"@{EMAIL_DOMAIN}>")
    assert email.envelope_from == email.sender.removeprefix("Notify tests <").removesuffix(">")
    assert email.subject == "Your appointment on 1 May"
    assert email.header("List-Unsubscribe") == f"<{UNSUBSCRIBE}>"
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert email.text_body is not None and "Your appointment is on 1 May." in email.text_body
    assert "Please bring your letter." in email.text_body
    assert "Unsubscribe from these emails" in email.text_body
    assert email.html_body is not None and "Hello Ada</h2>" in email.html_body
    assert UNSUBSCRIBE in email.html_body


async def test_the_from_address_is_the_one_the_201_shows(notify_rig: NotifyRig, email_sink: SmtpSink) -> None:
    api = client(notify_rig, "live")
    sent = await asyncio.to_thread(
        api.send_email_notification, unique_address("grace"), notify_rig.templates["email"], EMAIL_PERSONALISATION
    )
    async with running_worker(notify_rig, email_sink):
        await final_in_api(api, sent["id"])
    email = stored(email_sink, sent["id"])
    assert email is not None
    assert email.sender == f"Notify tests <{sent['content']['from_email']}>"
    assert email.header("Reply-To") is None  # the service has no reply-to address
    assert email.header("List-Unsubscribe") is None


async def test_reply_to_is_set_from_the_row(notify_rig: NotifyRig, db: Database, email_sink: SmtpSink) -> None:
    ident = await insert_email(db, notify_rig, unique_address("reply"), reply_to_text="help@example.gov.uk")
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs()) as ctx:
        await tasks.deliver(ctx, str(ident))
    email = stored(email_sink, ident)
    assert email is not None and email.header("Reply-To") == "help@example.gov.uk"
    assert email.header("Message-ID") == f"<{ident}@{EMAIL_DOMAIN}>"


async def test_welsh_text_and_an_internationalised_domain_arrive_intact(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    local = f"ada+{uuid.uuid4().hex[:8]}"
    to = f"{local}@bwrdd-iechyd-ŵ.cymru"
    subject = "Eich apwyntiad ar ddydd Llun — ystafell ŵ " + "hir " * 30
    body = "# Helo Ada\n\nMae’ch apwyntiad ar 1 Mai."
    ident = await insert_email(db, notify_rig, to, subject=subject, body=body)
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs()) as ctx:
        await tasks.deliver(ctx, str(ident))
    email = stored(email_sink, ident)
    assert email is not None
    assert email.subject == subject  # encoded words, folded, decoded back exactly
    assert email.text_body is not None and "Mae’ch apwyntiad ar 1 Mai." in email.text_body
    relayed = f"{local}@{'bwrdd-iechyd-ŵ.cymru'.encode('idna').decode()}"  # a relay may not speak SMTPUTF8
    assert relayed.isascii() and email.envelope_to == (relayed,) == email.to


async def test_a_line_break_in_a_header_value_is_a_technical_failure_not_a_new_header(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    ident = await insert_email(db, notify_rig, unique_address("inject"), subject="Hello\r\nBcc: eve@example.com")
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs()) as ctx:
        await tasks.deliver(ctx, str(ident))
    row = await row_of(db, ident)
    assert row is not None and row.status == "technical-failure"
    assert stored(email_sink, ident) is None


async def test_a_send_whose_answer_was_lost_is_retried_and_not_duplicated(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    """The sink stores the message but answers after the worker's timeout: a provider exception, retried at once;
    the retry carries the same Message-ID, so the sink drops it as a duplicate (and counts it)."""
    duplicates = email_sink.stats()["duplicates"]
    async with running_worker(notify_rig, email_sink, smtp_timeout_seconds=1.0):
        ident = await send_live_email(notify_rig, unique_address("smtp-slow"))
        row = await status_becomes(db, ident, "delivered", within=SLOW_REPLY_SECONDS + 10)
    assert row.attempt == 2
    assert copies_stored(email_sink, ident) == 1
    stats = email_sink.stats()
    assert stats["duplicates"] == duplicates + 1
    assert f"{ident}@{EMAIL_DOMAIN}" in stats["recent_duplicates"]


async def test_a_temporary_refusal_is_retried_at_once(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    async with running_worker(notify_rig, email_sink):
        ident = await send_live_email(notify_rig, unique_address("smtp-fail-temporary-1"))
        row = await status_becomes(db, ident, "delivered")
    assert row.attempt == 2  # refused once, then taken by the immediate retry
    assert row.sent_by == "smtp"
    assert copies_stored(email_sink, ident) == 1


async def test_a_permanent_refusal_is_a_technical_failure_at_once(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    async with running_worker(notify_rig, email_sink):
        ident = await send_live_email(notify_rig, unique_address("smtp-fail-permanent"))
        got = await final_in_api(client(notify_rig, "live"), ident)
    assert got["status"] == "technical-failure"
    row = await row_of(db, ident)
    assert row is not None and (row.attempt, row.sent_at, row.sent_by) == (1, None, None)
    assert copies_stored(email_sink, ident) == 0


async def test_48_retries_300_seconds_apart_then_technical_failure(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    """§16.3 on a test clock: the relay refuses every try with a 4xx; 1 try + 48 retries, then `technical-failure`."""
    ident = await insert_email(db, notify_rig, unique_address("smtp-fail-temporary"))
    now = utcnow()
    jobs = RecordedJobs()
    refused = email_sink.stats()["temporary_failures"]
    async with handler_ctx(notify_rig, email_sink, jobs=jobs) as ctx:
        ctx[tasks.CLOCK] = lambda: now
        for attempt in range(1, tasks.MAX_RETRIES + 2):
            await tasks.deliver(ctx, str(ident))
            row = await row_of(db, ident)
            assert row is not None and row.attempt == attempt
            if attempt <= tasks.MAX_RETRIES:
                assert row.status == "created"
                assert row.next_attempt_at == now + (timedelta(0) if attempt == 1 else tasks.RETRY_INTERVAL)
                assert jobs.queued[-1] == ("deliver", str(ident), tasks.RETRY_LANE, row.next_attempt_at)
                await tasks.deliver(ctx, str(ident))  # not due yet (after the first): the claim takes nothing
                now = row.next_attempt_at
    assert row.status == "technical-failure"
    assert len(jobs.queued) == tasks.MAX_RETRIES
    assert jobs.queued[-1][3] - jobs.queued[0][3] == tasks.RETRY_INTERVAL * (tasks.MAX_RETRIES - 1)  # about 4 h
    assert email_sink.stats()["temporary_failures"] - refused == tasks.MAX_RETRIES + 1
    assert copies_stored(email_sink, ident) == 0


async def test_an_inactive_service_is_a_technical_failure(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    ident = await insert_email(db, notify_rig, unique_address("inactive"))
    async with handler_ctx(notify_rig, email_sink, jobs=RecordedJobs()) as ctx:
        async with db.write_session() as session:
            await session.execute(
                update(NotifyService).where(NotifyService.id == notify_rig.service_id).values(active=False)
            )
        try:
            await tasks.deliver(ctx, str(ident))
        finally:
            async with db.write_session() as session:
                await session.execute(
                    update(NotifyService).where(NotifyService.id == notify_rig.service_id).values(active=True)
                )
    row = await row_of(db, ident)
    assert row is not None and row.status == "technical-failure"
    assert copies_stored(email_sink, ident) == 0


async def test_the_sweep_requeues_lost_emails_but_not_letters_without_a_provider(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink
) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    lost_email = str(
        await insert_email(db, notify_rig, unique_address("lost"), created_at=long_ago, next_attempt_at=long_ago)
    )
    lost_letter = str(
        await insert_row(
            db, notify_rig, key_type="normal", notification_type="letter", created_at=long_ago, next_attempt_at=long_ago
        )
    )
    sweeps = {s.name: s for s in tasks.sweeps()}
    assert set(sweeps) == {"created-test", "created-priority", "created-normal", "created-bulk", "test-receipts"}
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    redis = Redis.from_url(notify_rig.redis_url)
    try:
        assert await sweep_once(db, jobs, sweeps["created-normal"]) >= 1
        assert await redis.exists(f"arq:job:{job_id('notify', 'deliver', lost_email)}")
        assert not await redis.exists(f"arq:job:{job_id('notify', 'deliver', lost_letter)}")
        async with running_worker(notify_rig, email_sink):
            await status_becomes(db, lost_email, "delivered")
    finally:
        await jobs.close()
        await redis.aclose()
    letter = await row_of(db, lost_letter)
    assert letter is not None and (letter.status, letter.attempt) == ("created", 0)
