"""The whole path in a real worker (notify spec §14, §16.5): a test key's text is handed to the simulator, its
simulated receipt makes it `delivered`, and the owed callback reaches the receiver signed; a receipt applied by
the webhook (which queues nothing) is relayed by the callbacks sweep."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from gaap.db import Database, utcnow
from gaap.jobs import JobQueue, serve
from services.notify.notifications.models import Notification
from services.notify.receipts.schemas import SmsReceipt
from services.notify.receipts.service import apply_sms_receipt
from services.notify.worker import DeliverySettings, worker_spec
from tests.notify.callbacks.conftest import Configured, Receiver, add_notification
from tests.notify.conftest import NotifyRig, notify_settings


async def received(receiver: Receiver, ident: uuid.UUID, within: float) -> dict[str, str]:
    async with asyncio.timeout(within):
        while True:
            for attempt in list(receiver.attempts):
                if attempt.json["id"] == str(ident):
                    assert attempt.signature_ok and attempt.token_ok
                    return dict(attempt.json)
            await asyncio.sleep(0.05)


async def test_callbacks_through_a_running_worker(
    notify_rig: NotifyRig, db: Database, service: Configured, receiver: Receiver
) -> None:
    settings = notify_settings(notify_rig.notify_db, notify_rig.redis_url, "http://127.0.0.1")
    spec = worker_spec(settings, DeliverySettings(test_receipt_delay_seconds=0.2))
    simulated = await add_notification(db, service.service_id, status="created")
    receipted = await add_notification(db, service.service_id, key_type="normal")
    async with db.write_session() as session:
        await session.execute(update(Notification).where(Notification.id == receipted).values(sent_by="firetext"))
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(spec, stop=stop, handle_signals=False))
    try:
        assert await jobs.enqueue("deliver", simulated, lane="test")
        assert (await received(receiver, simulated, within=15))["status"] == "delivered"

        async with db.write_session() as session:
            receipt = SmsReceipt(reference=str(receipted), status="delivered")
            await apply_sms_receipt(session, "firetext", receipt, now=utcnow())
        assert (await received(receiver, receipted, within=20))["status"] == "delivered"
    finally:
        stop.set()
        await asyncio.wait_for(worker, 15)
        await jobs.close()
