"""Rotating a callback's signing secret (notify spec §14.1): the new secret signs at once, the old one signs beside
it for 24 hours (one `v1` each), then only the new one does. The console's rotation through the gateway is tested
with the signing secrets page (tests/gateway/console/test_signing_secrets.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gaap.db import Database, utcnow
from gaap.webhooks import SignatureError, verify
from services.notify.callbacks import sender
from services.notify.callbacks.models import DELIVERY_STATUS, ROTATION_OVERLAP, CallbackConfig
from services.notify.delivery import tasks
from tests.notify.callbacks.conftest import Configured, Receiver, add_notification
from tests.notify.callbacks.test_delivery_status import owed


async def rotate(db: Database, service_id: uuid.UUID, *, overlap_left: timedelta = ROTATION_OVERLAP) -> str:
    """Rotate the delivery-status secret; `overlap_left` moves the old one's end (to the past: the overlap is over)."""
    async with db.write_session() as session:
        config = await session.scalar(
            select(CallbackConfig).where(
                CallbackConfig.service_id == service_id, CallbackConfig.callback_type == DELIVERY_STATUS
            )
        )
        assert config is not None
        fresh = config.rotate(utcnow())
        config.previous_until = utcnow() + overlap_left
        return fresh


async def callback_signature(db: Database, ctx: dict[str, Any], service_id: uuid.UUID, receiver: Receiver) -> Any:
    ident = await add_notification(db, service_id)
    await tasks.simulate_receipt(ctx, str(ident))
    [delivery] = await owed(db, ident)
    await sender.deliver_callback(ctx, str(delivery.id))
    return receiver.attempts[-1]


async def test_the_old_secret_signs_beside_the_new_one_for_a_day(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    fresh = await rotate(db, service.service_id)
    assert fresh != service.secret and len(bytes.fromhex(fresh)) == 32
    receiver.reset(secret=fresh)
    attempt = await callback_signature(db, ctx, service.service_id, receiver)
    header = attempt.headers["x-notify-signature"]
    assert header.count("v1=") == 2 and attempt.signature_ok  # a receiver that moved over
    verify(header, attempt.body, [service.secret])  # and one that has not yet


async def test_after_the_overlap_only_the_new_secret_signs(
    db: Database, ctx: dict[str, Any], service: Configured, receiver: Receiver
) -> None:
    fresh = await rotate(db, service.service_id, overlap_left=-timedelta(seconds=1))
    receiver.reset(secret=fresh)
    attempt = await callback_signature(db, ctx, service.service_id, receiver)
    assert attempt.headers["x-notify-signature"].count("v1=") == 1 and attempt.signature_ok
    with pytest.raises(SignatureError):
        verify(attempt.headers["x-notify-signature"], attempt.body, [service.secret])


async def test_a_second_rotation_ends_the_first_overlap(db: Database, service: Configured) -> None:
    first = await rotate(db, service.service_id)
    second = await rotate(db, service.service_id)
    async with db.read_session() as session:
        config = await session.scalar(
            select(CallbackConfig).where(
                CallbackConfig.service_id == service.service_id, CallbackConfig.callback_type == DELIVERY_STATUS
            )
        )
        assert config is not None
        assert config.live_secrets(utcnow()) == [second, first]  # the original secret signs no more
