"""The timers (pay spec §9.2, §9.3): 90 minutes for an unfinished payment, 120 hours for a `capturable` one, a grace
period for an authorisation in progress, and the void that follows when an authorisation exists."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.payments import tasks
from services.pay.payments.models import Payment
from services.pay.payments.states import Status
from tests.pay.conftest import PayRig, authorise, moto_payment, new_payment

EXPIRED = {"status": "failed", "finished": True, "code": "P0020", "message": "Payment expired"}


async def age(
    db: Database, payment_id: str, *, created: timedelta, updated: timedelta | None = None, **values: Any
) -> None:
    now = utcnow()
    changes: dict[str, Any] = {"created_at": now - created, **values}
    if updated is not None:
        changes["updated_at"] = now - updated
    async with db.write_session() as session:
        await session.execute(update(Payment).where(Payment.id == payment_id).values(**changes))


async def status_of(db: Database, payment_id: str) -> str:
    async with db.read_session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.status


async def test_a_web_payment_expires_after_90_minutes(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    old, young = new_payment(api), new_payment(api)
    await age(pay_db, old["payment_id"], created=timedelta(minutes=91))
    await age(pay_db, young["payment_id"], created=timedelta(minutes=89))
    assert await tasks.expire_payments(worker_ctx) >= 1
    got = api.get(f"/v1/payments/{old['payment_id']}").json()
    assert got["state"] == EXPIRED
    assert set(got["_links"]) == {"self", "events", "refunds"}
    assert api.get(f"/v1/payments/{young['payment_id']}").json()["state"]["status"] == "created"
    events = api.get(f"/v1/payments/{old['payment_id']}/events").json()["events"]
    assert [e["state"]["status"] for e in events] == ["created", "failed"]
    assert await tasks.expire_payments(worker_ctx) == 0  # nothing is due twice


async def test_a_capturable_payment_expires_after_120_hours_and_is_voided(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    kept, dropped = moto_payment(api, delayed_capture=True), moto_payment(api, delayed_capture=True)
    for payment in (kept, dropped):
        assert authorise(pay_rig, payment).status_code == 204
    await age(pay_db, kept["payment_id"], created=timedelta(hours=119))
    await age(pay_db, dropped["payment_id"], created=timedelta(hours=121))
    await tasks.expire_payments(worker_ctx)
    assert api.get(f"/v1/payments/{kept['payment_id']}").json()["state"]["status"] == "capturable"
    assert api.get(f"/v1/payments/{dropped['payment_id']}").json()["state"] == EXPIRED
    assert await status_of(pay_db, dropped["payment_id"]) == Status.EXPIRE_CANCEL_READY
    await tasks.void_payment(worker_ctx, dropped["payment_id"])
    assert await status_of(pay_db, dropped["payment_id"]) == Status.EXPIRED
    assert api.post(f"/v1/payments/{dropped['payment_id']}/capture").status_code == 409


async def test_an_authorisation_in_progress_gets_a_grace_period(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    recent, stuck = moto_payment(api), moto_payment(api)
    ready = {"status": Status.AUTHORISATION_READY.value}
    await age(pay_db, recent["payment_id"], created=timedelta(minutes=95), updated=timedelta(seconds=30), **ready)
    await age(pay_db, stuck["payment_id"], created=timedelta(minutes=95), updated=timedelta(minutes=6), **ready)
    await tasks.expire_payments(worker_ctx)
    assert await status_of(pay_db, recent["payment_id"]) == Status.AUTHORISATION_READY
    assert await status_of(pay_db, stuck["payment_id"]) == Status.EXPIRE_CANCEL_READY
    await tasks.void_payment(worker_ctx, stuck["payment_id"])
    assert await status_of(pay_db, stuck["payment_id"]) == Status.EXPIRED


async def test_finished_payments_never_expire(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    cancelled = new_payment(api)
    assert api.post(f"/v1/payments/{cancelled['payment_id']}/cancel").status_code == 204
    paid = moto_payment(api)
    assert authorise(pay_rig, paid).status_code == 204
    for payment in (cancelled, paid):
        await age(pay_db, payment["payment_id"], created=timedelta(days=30))
    await tasks.expire_payments(worker_ctx)
    assert api.get(f"/v1/payments/{cancelled['payment_id']}").json()["state"]["code"] == "P0040"
    assert api.get(f"/v1/payments/{paid['payment_id']}").json()["state"]["status"] == "success"
