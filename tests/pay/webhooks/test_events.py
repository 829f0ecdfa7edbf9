"""Which payment changes are webhook events (pay spec §12's table), and that a message is written in the same
transaction as the change that causes it: a change that rolls back leaves no message."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gaap.db.engine import Database
from services.pay.payments import repository as payments_repo
from services.pay.payments.states import PUBLIC, Status, Trigger, move
from services.pay.payments.tasks import capture_payment
from services.pay.refunds.tasks import submit_refund
from services.pay.webhooks import outbox
from services.pay.webhooks.models import WebhookMessage
from tests.pay.conftest import PayRig, authorise, moto_payment, new_payment
from tests.pay.webhooks.conftest import Receiver, messages_of, tenant_with, webhook_settings

S = Status


@pytest.mark.parametrize(
    ("before", "after", "values", "events"),
    [
        (S.CREATED, S.ENTERING_CARD_DETAILS, {}, [outbox.STARTED]),
        (S.ENTERING_CARD_DETAILS, S.AUTHORISATION_READY, {}, []),  # still `started`
        (S.AUTHORISATION_READY, S.CAPTURE_APPROVED, {}, [outbox.SUCCEEDED]),
        (S.AUTHORISATION_READY, S.AWAITING_CAPTURE_REQUEST, {}, [outbox.CAPTURABLE]),
        (S.CAPTURE_APPROVED, S.CAPTURED, {"captured_date": "2026-01-01"}, [outbox.CAPTURED]),
        (S.CAPTURED, S.CAPTURED, {"settled_date": "2026-01-02"}, [outbox.SETTLED]),
        (S.AUTHORISATION_READY, S.AUTHORISATION_REJECTED, {}, [outbox.FAILED]),  # P0010
        (S.ENTERING_CARD_DETAILS, S.USER_CANCELLED, {}, [outbox.FAILED]),  # P0030
        (S.CREATED, S.SYSTEM_CANCELLED, {}, [outbox.FAILED]),  # P0040
        (S.SYSTEM_CANCEL_READY, S.SYSTEM_CANCELLED, {}, []),  # already `cancelled`
        (S.CAPTURE_APPROVED, S.CAPTURE_ERROR, {}, [outbox.FAILED]),  # P0050
        (S.CREATED, S.EXPIRED, {}, [outbox.EXPIRED]),  # P0020
    ],
)
def test_the_events_of_each_change(before: Status, after: Status, values: dict[str, Any], events: list[str]) -> None:
    assert outbox.events_for(PUBLIC[before], PUBLIC[after], values) == events


async def test_a_payment_records_a_message_per_event_for_each_subscribed_webhook(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    tenant = await tenant_with(
        pay_rig,
        [
            webhook_settings(receiver.path()),
            webhook_settings(receiver.path(), events=(outbox.SUCCEEDED,)),
        ],
        allow_moto_api=True,
    )
    api = pay_rig.api(tenant.account("test"))
    payment = moto_payment(api, amount=3000)
    assert authorise(pay_rig, payment).status_code == 204
    await capture_payment(worker_ctx, payment["payment_id"])
    refund = api.post(f"/v1/payments/{payment['payment_id']}/refunds", json={"amount": 1000}).json()
    await submit_refund(worker_ctx, refund["refund_id"])
    messages = await messages_of(pay_db, payment["payment_id"])
    assert sorted(m.event_type for m in messages) == sorted(
        [outbox.STARTED, outbox.SUCCEEDED, outbox.SUCCEEDED, outbox.CAPTURED, outbox.REFUNDED]
    )
    assert {m.status for m in messages} == {outbox.PENDING}
    refunded = next(m for m in messages if m.event_type == outbox.REFUNDED)
    body = httpx.Response(200, content=refunded.body).json()
    assert body["webhook_message_id"] == refunded.id and body["resource_id"] == payment["payment_id"]
    assert body["api_version"] == 1 and body["resource_type"] == "payment"
    assert body["resource"]["refund_summary"]["amount_submitted"] == 1000  # the resource at event time
    assert "_links" not in body["resource"]
    started = next(m for m in messages if m.event_type == outbox.STARTED)
    assert httpx.Response(200, content=started.body).json()["resource"]["state"]["status"] == "started"


async def test_a_change_that_rolls_back_leaves_no_message(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database
) -> None:
    tenant = await tenant_with(pay_rig, [webhook_settings(receiver.path())])
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)

    class Abort(Exception):
        pass

    async def cancel_then_fail() -> None:
        async with pay_db.write_session() as session:
            row = await payments_repo.get_by_id(session, payment["payment_id"])
            assert row is not None
            assert await move(session, row, Trigger.service_cancel)
            assert len((await session.execute(select(WebhookMessage).filter_by(payment_id=row.id))).all()) == 1
            raise Abort

    with pytest.raises(Abort):
        await cancel_then_fail()
    assert await messages_of(pay_db, payment["payment_id"]) == []
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    assert [m.event_type for m in await messages_of(pay_db, payment["payment_id"])] == [outbox.FAILED]


async def test_no_webhooks_no_messages(pay_rig: PayRig, api: httpx.Client, pay_db: Database) -> None:
    payment = await asyncio.to_thread(new_payment, api)
    cancelled = await asyncio.to_thread(api.post, f"/v1/payments/{payment['payment_id']}/cancel")
    assert cancelled.status_code == 204
    async with pay_db.read_session() as session:
        count = await session.scalar(
            select(func.count()).select_from(WebhookMessage).where(WebhookMessage.payment_id == payment["payment_id"])
        )
    assert count == 0
