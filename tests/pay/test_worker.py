"""Pay's worker role against the rig: the real `gaap worker pay` loop takes the jobs the API queues after commit;
the sweeps re-queue work whose job was lost; the spec is registered with the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from gaap.cli.components import component, resolve, with_workers
from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Sweep, serve, sweep_once
from services.pay.payments.models import NextUrlToken, Payment
from services.pay.payments.states import Status
from services.pay.payments.tasks import purge_next_url_tokens
from services.pay.refunds.models import Refund
from services.pay.worker import worker_spec
from tests.pay.conftest import PayRig, authorise, moto_payment, new_payment


async def eventually(check: Callable[[], Any], within: float = 15) -> Any:
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110  (state in the database, changed by the worker)
            await asyncio.sleep(0.05)
    return result


async def status_of(db: Database, model: Any, ident: str) -> str:
    async with db.read_session() as session:
        row = await session.get(model, ident)
        assert row is not None
        return str(row.status)


def test_the_cli_knows_pays_worker() -> None:
    assert "pay" in with_workers()
    spec = resolve(component("pay").worker or "")(None)
    assert spec.component == "pay"
    tasks = {task.__name__ for task in spec.tasks}
    assert tasks == {
        "capture_payment",
        "void_payment",
        "submit_refund",
        "deliver_webhook",
        "send_confirmation_email",
        "authorise_recurring",
        "delete_instrument",
    }
    assert {sweep.name for sweep in spec.sweeps} == {
        "capture",
        "void",
        "refunds",
        "webhooks",
        "confirmation-emails",
        "delete-instrument",
    }
    assert {job.name for job in spec.cron} == {
        "expire-payments",
        "idempotency-keys",
        "next-url-tokens",
        "webhook-log",
        "disputes",
        "recurring-payments",
    }
    assert {"provider", "webhooks", "receipts"} <= set(spec.lanes)
    expiry = next(job for job in spec.cron if job.name == "expire-payments")
    assert expiry.every == timedelta(minutes=1)


async def test_the_running_worker_captures_and_settles_refunds(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database
) -> None:
    """The worker runs in this event loop, so the test's own HTTP calls go to threads."""

    async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

    stop = asyncio.Event()
    worker = asyncio.create_task(serve(worker_spec(pay_rig.settings), stop=stop, handle_signals=False))
    try:
        payment = await call(moto_payment, api, amount=2000)
        assert (await call(authorise, pay_rig, payment)).status_code == 204

        async def captured() -> bool:
            return await status_of(pay_db, Payment, payment["payment_id"]) == Status.CAPTURED

        await eventually(captured)
        made = (await call(api.post, f"/v1/payments/{payment['payment_id']}/refunds", json={"amount": 500})).json()

        async def settled() -> bool:
            return await status_of(pay_db, Refund, made["refund_id"]) == "success"

        await eventually(settled)
        delayed = await call(moto_payment, api, delayed_capture=True)
        assert (await call(authorise, pay_rig, delayed)).status_code == 204
        assert (await call(api.post, f"/v1/payments/{delayed['payment_id']}/cancel")).status_code == 204

        async def voided() -> bool:
            return await status_of(pay_db, Payment, delayed["payment_id"]) == Status.SYSTEM_CANCELLED

        await eventually(voided)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)


async def test_sweeps_requeue_work_whose_job_was_lost(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = moto_payment(api)
    assert authorise(pay_rig, payment).status_code == 204  # CAPTURE_APPROVED, its job queued
    long_ago = utcnow() - timedelta(minutes=10)
    async with pay_db.write_session() as session:
        await session.execute(
            update(Payment).where(Payment.id == payment["payment_id"]).values(next_attempt_at=long_ago)
        )
    spec = worker_spec(pay_rig.settings)
    capture: Sweep = next(s for s in spec.sweeps if s.name == "capture")
    await worker_ctx["jobs"].redis.flushdb()  # Redis lost its queues
    assert await sweep_once(pay_db, worker_ctx["jobs"], capture) >= 1
    refunds: Sweep = next(s for s in spec.sweeps if s.name == "refunds")
    assert refunds.model is Refund and refunds.task == "submit_refund"


async def test_next_url_tokens_are_purged_after_their_retention(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = new_payment(api)
    async with pay_db.write_session() as session:
        await session.execute(
            update(NextUrlToken)
            .where(NextUrlToken.payment_id == payment["payment_id"])
            .values(created_at=utcnow() - timedelta(days=8))
        )
    await asyncio.to_thread(api.get, f"/v1/payments/{payment['payment_id']}")  # a fresh one
    await purge_next_url_tokens(worker_ctx)
    async with pay_db.read_session() as session:
        left = (
            await session.execute(select(NextUrlToken).where(NextUrlToken.payment_id == payment["payment_id"]))
        ).all()
    assert len(left) == 1
