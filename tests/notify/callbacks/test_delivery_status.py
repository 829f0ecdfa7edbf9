"""notify spec §14, §14.1, §18.3: every final email or text status owes a signed delivery-status callback, written
with the status change and sent by the `callbacks` lane with retries, each attempt logged."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from gaap.db import Database, utcnow
from gaap.jobs import sweep_once
from services.notify.callbacks import outbox, sender
from services.notify.callbacks.log import delivery_log
from services.notify.callbacks.models import CallbackDelivery
from services.notify.delivery import tasks
from services.notify.delivery.providers import CLOCK, ProviderError
from services.notify.delivery.timeouts import SENDING_TIMEOUT, time_out_waiting
from services.notify.notifications.models import Notification
from services.notify.receipts.schemas import SmsReceipt
from services.notify.receipts.service import apply_sms_receipt
from tests.notify.callbacks.conftest import (
    TOKEN,
    Configured,
    Receiver,
    RecordedJobs,
    add_notification,
    add_service,
)

PAYLOAD_KEYS = [
    "id",
    "reference",
    "to",
    "status",
    "created_at",
    "completed_at",
    "sent_at",
    "notification_type",
    "template_id",
    "template_version",
]


async def owed(db: Database, subject: uuid.UUID) -> list[CallbackDelivery]:
    async with db.read_session() as session:
        rows = (await session.scalars(select(CallbackDelivery).where(CallbackDelivery.subject_id == subject))).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


async def send_until_settled(ctx: dict[str, Any], delivery_id: uuid.UUID, tries: int) -> None:
    """Run the job `tries` times, moving the clock past each retry's due time."""
    for _ in range(tries):
        await sender.deliver_callback(ctx, str(delivery_id))
        ctx[CLOCK].offset += sender.RETRY_INTERVAL + timedelta(seconds=1)


async def test_a_simulated_receipt_owes_a_signed_callback_with_the_spec_payload(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    ident = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(ident))

    [delivery] = await owed(db, ident)
    assert ("deliver_callback", str(delivery.id), "callbacks", None) in ctx["jobs"].queued
    await sender.deliver_callback(ctx, str(delivery.id))
    await sender.deliver_callback(ctx, str(delivery.id))  # a duplicate job sends nothing more

    [attempt] = receiver.attempts
    assert attempt.signature_ok and attempt.token_ok
    assert attempt.headers["content-type"] == "application/json"
    assert attempt.headers["authorization"] == f"Bearer {TOKEN}"
    assert attempt.headers["x-notify-event-id"] == str(delivery.id)
    assert attempt.headers["x-notify-attempt"] == "1"
    assert attempt.headers["x-notify-signature"].startswith(f"t={attempt.headers['x-notify-timestamp']},v1=")
    body = attempt.json
    assert list(body) == PAYLOAD_KEYS
    assert body["id"] == str(ident) and body["status"] == "delivered" and body["reference"] == "ref-42"
    assert body["to"] == "07700900123" and body["notification_type"] == "sms" and body["template_version"] == 3
    assert all(isinstance(body[k], str) for k in PAYLOAD_KEYS if k != "template_version")
    assert body["completed_at"].endswith("Z") and len(body["created_at"]) == len("2024-05-17T15:58:38.342838Z")
    [settled] = await owed(db, ident)
    assert settled.status == "delivered" and settled.attempt == 1


async def test_failures_are_retried_with_the_same_event_and_body_and_logged(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    receiver.reset(secret=service.secret, fail_first=2, fail_with=503)
    ident = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(ident))
    [delivery] = await owed(db, ident)

    await sender.deliver_callback(ctx, str(delivery.id))
    [after_one] = await owed(db, ident)
    assert after_one.status == "pending" and after_one.last_error == "HTTP 503"
    assert after_one.next_attempt_at - after_one.updated_at == sender.RETRY_INTERVAL
    assert ctx["jobs"].queued[-1] == (
        "deliver_callback",
        str(delivery.id),
        "callbacks-retry",
        after_one.next_attempt_at,
    )
    await sender.deliver_callback(ctx, str(delivery.id))  # not due yet: nothing is sent
    assert len(receiver.attempts) == 1

    ctx[CLOCK].offset += sender.RETRY_INTERVAL + timedelta(seconds=1)
    await send_until_settled(ctx, delivery.id, 2)

    assert [a.answered for a in receiver.attempts] == [503, 503, 200]
    assert [a.headers["x-notify-attempt"] for a in receiver.attempts] == ["1", "2", "3"]
    assert {a.headers["x-notify-event-id"] for a in receiver.attempts} == {str(delivery.id)}
    assert len({a.body for a in receiver.attempts}) == 1
    assert all(a.signature_ok and a.token_ok for a in receiver.attempts)
    async with db.read_session() as session:
        [logged] = [d for d in await delivery_log(session, service.service_id) if d["id"] == str(delivery.id)]
    assert logged["status"] == "delivered" and logged["subject_id"] == str(ident)
    assert [(a["attempt"], a["status_code"], a["error"]) for a in logged["attempts"]] == [
        (1, 503, "HTTP 503"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]


async def test_other_4xx_answers_are_final_and_429_is_retried(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    receiver.reset(secret=service.secret, fail_first=1, fail_with=400)
    refused = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(refused))
    [delivery] = await owed(db, refused)
    await send_until_settled(ctx, delivery.id, 2)
    [dead] = await owed(db, refused)
    assert (dead.status, dead.last_error, len(receiver.attempts)) == ("failed", "HTTP 400", 1)

    receiver.reset(secret=service.secret, fail_first=1, fail_with=429)
    throttled = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(throttled))
    [delivery] = await owed(db, throttled)
    await send_until_settled(ctx, delivery.id, 2)
    assert [a.answered for a in receiver.attempts] == [429, 200]


async def test_after_five_retries_the_callback_is_a_dead_letter(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    receiver.reset(secret=service.secret, fail_first=100, fail_with=500)
    ident = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(ident))
    [delivery] = await owed(db, ident)
    await send_until_settled(ctx, delivery.id, sender.MAX_RETRIES + 3)
    assert len(receiver.attempts) == sender.MAX_RETRIES + 1
    [dead] = await owed(db, ident)
    assert dead.status == "failed"
    async with db.read_session() as session:
        failed = await delivery_log(session, service.service_id, status="failed")
    assert str(delivery.id) in {d["id"] for d in failed}


async def test_a_connection_error_is_retried(db: Database, ctx: dict[str, Any], service: Configured) -> None:
    async with db.write_session() as session:
        from services.notify.callbacks.models import CallbackConfig

        await session.execute(
            update(CallbackConfig)
            .where(CallbackConfig.service_id == service.service_id)
            .values(url="http://127.0.0.1:9/nothing-listens")
        )
    ident = await add_notification(db, service.service_id)
    await tasks.simulate_receipt(ctx, str(ident))
    [delivery] = await owed(db, ident)
    await sender.deliver_callback(ctx, str(delivery.id))
    [after] = await owed(db, ident)
    assert after.status == "pending" and after.last_error is not None and "Connect" in after.last_error


async def test_technical_failures_timeouts_and_receipts_owe_callbacks(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    # §18.3: a hand-over given up for good.
    failing = await add_notification(db, service.service_id, status="created", key_type="normal", attempt=1)
    async with db.read_session() as session:
        row = await session.get(Notification, failing)
        assert row is not None
        session.expunge(row)
    await tasks.not_handed_over(ctx, row, ProviderError("refused", retryable=False))
    # §16.5: still waiting 72 hours on.
    now = utcnow()
    waiting = await add_notification(
        db, service.service_id, key_type="normal", created_at=now - SENDING_TIMEOUT - timedelta(hours=1)
    )
    jobs = RecordedJobs()
    assert await time_out_waiting(db, now=now, jobs=jobs) >= 1
    # §16.5: a provider's receipt; `pending` owes nothing.
    receipted = await add_notification(db, service.service_id, key_type="normal", notification_type="sms")
    async with db.write_session() as session:
        await session.execute(update(Notification).where(Notification.id == receipted).values(sent_by="mmg"))
    for status in ("pending", "permanent-failure"):
        receipt = SmsReceipt(reference=str(receipted), id="x", status=status)
        async with db.write_session() as session:
            await apply_sms_receipt(session, "mmg", receipt, now=utcnow())

    statuses = {}
    for ident in (failing, waiting, receipted):
        [delivery] = await owed(db, ident)
        statuses[ident] = delivery
    assert any(job[1] == str(statuses[waiting].id) for job in jobs.queued)
    # The receipt webhook queues nothing: the sweep relays what it owes, and skips what was queued and sent.
    swept = RecordedJobs()
    await sweep_once(db, swept, sender.sweep(), now=utcnow() + timedelta(seconds=10))  # type: ignore[arg-type]
    assert str(statuses[receipted].id) in {job[1] for job in swept.queued}
    for delivery in statuses.values():
        await sender.deliver_callback(ctx, str(delivery.id))
    got = {a.json["id"]: a.json["status"] for a in receiver.attempts}
    assert got == {
        str(failing): "technical-failure",
        str(waiting): "temporary-failure",
        str(receipted): "temporary-failure",  # a decline after `pending`
    }
    assert all(a.signature_ok for a in receiver.attempts)


async def test_nothing_is_owed_without_a_callback_letters_or_a_pending_status(
    db: Database, service: Configured
) -> None:
    bare = await add_service(db)
    plain = await add_notification(db, bare, status="delivered")
    letter = await add_notification(db, service.service_id, status="delivered", notification_type="letter")
    waiting = await add_notification(db, service.service_id, status="pending")
    async with db.write_session() as session:
        assert await outbox.record(session, plain, letter, waiting) == []
        assert await outbox.record(session) == []
