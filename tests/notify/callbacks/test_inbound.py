"""notify spec §14, §15: a text received for a service with an inbound-text callback owes it one, stored once even
when the provider posts the message again."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from gaap.db import Database
from services.notify.callbacks import sender
from services.notify.callbacks.models import CallbackDelivery
from services.notify.inbound.service import assign_inbound_number, record_inbound
from tests.notify.callbacks.conftest import Configured, Receiver


async def test_a_received_text_owes_an_inbound_callback(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    number = f"4477009{random.randrange(10_000, 99_999)}"
    async with db.write_session() as session:
        await assign_inbound_number(session, number=number, provider="mmg", service_id=service.service_id)
    received = datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC)
    stored = []
    for _ in range(2):  # the provider posts it again: stored once, owed once
        async with db.write_session() as session:
            stored.append(
                await record_inbound(
                    session,
                    notify_number=number,
                    user_number="07700900456",
                    content="Yes please",
                    provider="mmg",
                    provider_reference=f"in-{number}",
                    received_at=received,
                )
            )
    text = stored[0]
    assert text is not None
    async with db.read_session() as session:
        query = select(CallbackDelivery.id, CallbackDelivery.callback_type).where(
            CallbackDelivery.subject_id == text.id
        )
        [(delivery_id, callback_type)] = (await session.execute(query)).all()
    assert callback_type == "inbound_sms"

    await sender.deliver_callback(ctx, str(delivery_id))
    [attempt] = receiver.attempts
    assert attempt.signature_ok is False  # each callback type has its own secret
    assert attempt.token_ok
    assert attempt.json == {
        "id": str(text.id),
        "source_number": "447700900456",
        "destination_number": number,
        "message": "Yes please",
        "date_received": "2026-11-21T10:00:00.123456Z",
    }
