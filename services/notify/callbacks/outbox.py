"""Owing a callback: the outbox row written in the transaction that made the event happen (notify spec §14).

The transition sites (receipts, the 72 h timeout, technical failures, test keys' simulated receipts, the
international `sent`) call `record(session, id, ...)` right after their conditional UPDATE, before their
commit: the new status and the callback it owes commit together or not at all, so neither a crash nor a Redis
outage between the two can lose a callback. A service without a callback configured gets no row. The payload is
built here, from the row as it now stands (a receipt's decline may have become `temporary-failure` inside the
UPDATE), and stored as the exact bytes every attempt will send.

After its commit the caller may `queue` the ids for an immediate send; the `callbacks` sweep (every few seconds)
relays any row nobody queued, which is how the request-handling sites (receipts, inbound texts) are relayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.jobs import Enqueue
from services.notify.callbacks.models import (
    DELIVERY_STATUS,
    INBOUND_SMS,
    RETURNED_LETTER,
    CallbackConfig,
    CallbackDelivery,
)
from services.notify.formats import iso
from services.notify.inbound.models import InboundSms
from services.notify.jobs.models import Job
from services.notify.notifications.models import FINAL_STATUSES, Notification
from services.notify.templates.models import TemplateHistory

#: §14: delivery-status callbacks are for emails and texts (letters have their own: returned letters).
CALLBACK_CHANNELS = ("email", "sms")
LANE = "callbacks"
TASK = "deliver_callback"


class Enqueuer(Protocol):
    async def enqueue_many(self, jobs: Sequence[Enqueue]) -> bool: ...


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def status_payload(n: Any) -> dict[str, Any]:
    """§14's delivery-status body, exactly: every value a string or null but `template_version`."""
    return {
        "id": str(n.id),
        "reference": n.client_reference,
        "to": n.to,
        "status": n.status,
        "created_at": iso(n.created_at),
        "completed_at": iso(n.updated_at),
        "sent_at": iso(n.sent_at),
        "notification_type": n.notification_type,
        "template_id": None if n.template_id is None else str(n.template_id),
        "template_version": n.template_version,
    }


def inbound_payload(text: InboundSms) -> dict[str, Any]:
    return {
        "id": str(text.id),
        "source_number": text.user_number,
        "destination_number": text.notify_number,
        "message": text.content,
        "date_received": iso(text.created_at),
    }


async def record(session: AsyncSession, *notification_ids: uuid.UUID | str) -> list[uuid.UUID]:
    """Owe a delivery-status callback for each of these notifications that has just reached a final status, if
    its service has a callback configured; returns the new deliveries' ids (the event ids)."""
    if not notification_ids:
        return []
    rows = await session.execute(
        select(
            Notification.id,
            Notification.service_id,
            Notification.client_reference,
            Notification.to,
            Notification.status,
            Notification.created_at,
            Notification.updated_at,
            Notification.sent_at,
            Notification.notification_type,
            Notification.template_id,
            Notification.template_version,
        )
        .join(
            CallbackConfig,
            (CallbackConfig.service_id == Notification.service_id) & (CallbackConfig.callback_type == DELIVERY_STATUS),
        )
        .where(
            Notification.id.in_([uuid.UUID(str(i)) for i in notification_ids]),
            Notification.notification_type.in_(CALLBACK_CHANNELS),
            Notification.status.in_(list(FINAL_STATUSES)),
        )
    )
    return await _owe(session, DELIVERY_STATUS, [(n.service_id, n.id, status_payload(n)) for n in rows])


def returned_letter_payload(n: Any) -> dict[str, Any]:
    """§14's returned-letter body. `date_sent` is when the letter went to print; `sent_by` the console user who
    sent it (null for API sends); the spreadsheet fields name a bulk job's file (notify keeps no row numbers)."""
    return {
        "notification_id": str(n.id),
        "reference": n.client_reference,
        "date_sent": iso(n.sent_at or n.created_at),
        "sent_by": n.created_by_name,
        "template_name": n.template_name,
        "template_id": None if n.template_id is None else str(n.template_id),
        "template_version": n.template_version,
        "spreadsheet_file_name": n.job_name,
        "spreadsheet_row_number": None,
        "upload_letter_file_name": None,
    }


async def record_returned_letter(session: AsyncSession, *notification_ids: uuid.UUID | str) -> list[uuid.UUID]:
    """Owe a returned-letter callback for each of these letters, if its service has one configured."""
    if not notification_ids:
        return []
    rows = await session.execute(
        select(
            Notification.id,
            Notification.service_id,
            Notification.client_reference,
            Notification.sent_at,
            Notification.created_at,
            Notification.created_by_name,
            Notification.template_id,
            Notification.template_version,
            TemplateHistory.name.label("template_name"),
            Job.name.label("job_name"),
        )
        .join(
            CallbackConfig,
            (CallbackConfig.service_id == Notification.service_id) & (CallbackConfig.callback_type == RETURNED_LETTER),
        )
        .outerjoin(
            TemplateHistory,
            (TemplateHistory.id == Notification.template_id)
            & (TemplateHistory.version == Notification.template_version),
        )
        .outerjoin(Job, Job.id == Notification.job_id)
        .where(
            Notification.id.in_([uuid.UUID(str(i)) for i in notification_ids]),
            Notification.notification_type == "letter",
        )
    )
    return await _owe(session, RETURNED_LETTER, [(n.service_id, n.id, returned_letter_payload(n)) for n in rows])


async def record_inbound(session: AsyncSession, text: InboundSms) -> list[uuid.UUID]:
    """Owe an inbound-text callback for a message just stored, if its service has one configured."""
    configured = await session.scalar(
        select(CallbackConfig.id).where(
            CallbackConfig.service_id == text.service_id, CallbackConfig.callback_type == INBOUND_SMS
        )
    )
    if configured is None:
        return []
    return await _owe(session, INBOUND_SMS, [(text.service_id, text.id, inbound_payload(text))])


async def _owe(
    session: AsyncSession, callback_type: str, events: list[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]]
) -> list[uuid.UUID]:
    now = utcnow()
    deliveries = [
        CallbackDelivery(
            id=uuid.uuid4(),
            service_id=service_id,
            callback_type=callback_type,
            subject_id=subject_id,
            body=encode(payload),
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
        for service_id, subject_id, payload in events
    ]
    session.add_all(deliveries)
    await session.flush()
    return [d.id for d in deliveries]


async def queue(jobs: Enqueuer, delivery_ids: Iterable[uuid.UUID]) -> None:
    """After the commit: send at once (one Redis round trip for them all). A lost enqueue only waits for the sweep."""
    await jobs.enqueue_many([Enqueue(TASK, ident, LANE) for ident in delivery_ids])
