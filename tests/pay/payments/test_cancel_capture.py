"""Cancel and capture (pay spec §5.5, §9.2): the rules by status, the background provider calls they lead to, and
concurrent captures that capture once."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.payments import tasks
from services.pay.payments.models import Payment, PaymentEvent
from services.pay.payments.states import Status
from services.pay.provider.sandbox import SandboxProvider
from tests.pay.conftest import PayRig, authorise, moto_payment, new_payment


class CountingSandbox(SandboxProvider):
    """The sandbox, counting each provider call by kind."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {"capture": 0, "void": 0, "refund": 0}

    async def capture(self, **kwargs: Any) -> None:
        self.calls["capture"] += 1

    async def void(self, **kwargs: Any) -> None:
        self.calls["void"] += 1

    async def refund(self, **kwargs: Any) -> None:
        self.calls["refund"] += 1


async def status_of(db: Database, payment_id: str) -> str:
    async with db.read_session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.status


def capturable(rig: PayRig, api: httpx.Client) -> dict[str, Any]:
    payment = moto_payment(api, delayed_capture=True)
    assert authorise(rig, payment).status_code == 204
    return payment


def test_cancel_a_created_payment(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = new_payment(api)
    response = api.post(f"/v1/payments/{payment['payment_id']}/cancel")
    assert response.status_code == 204 and response.content == b""
    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert got["state"] == {
        "status": "cancelled",
        "finished": True,
        "code": "P0040",
        "message": "Payment was cancelled by the service",
    }
    assert set(got["_links"]) == {"self", "events", "refunds"}
    assert got["refund_summary"] == {"status": "unavailable", "amount_available": 0, "amount_submitted": 0}


def test_cancel_takes_any_content_type_and_ignores_a_body(api: httpx.Client) -> None:
    payment = new_payment(api)
    response = api.post(
        f"/v1/payments/{payment['payment_id']}/cancel", content=b"whatever", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 204


def test_a_finished_payment_cannot_be_cancelled(api: httpx.Client) -> None:
    payment = new_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    again = api.post(f"/v1/payments/{payment['payment_id']}/cancel")
    assert (again.status_code, again.json()) == (
        400,
        {"code": "P0501", "description": "Cancellation of payment failed"},
    )


@pytest.mark.parametrize("payment_id", ["nosuchpayment0000000000000", "bad"])
def test_cancel_and_capture_of_unknown_payments(api: httpx.Client, payment_id: str) -> None:
    assert api.post(f"/v1/payments/{payment_id}/cancel").json() == {"code": "P0500", "description": "Not found"}
    assert api.post(f"/v1/payments/{payment_id}/capture").json() == {"code": "P1000", "description": "Not found"}


async def test_cancel_during_an_authorisation_is_409(pay_rig: PayRig, api: httpx.Client, pay_db: Database) -> None:
    payment = moto_payment(api)
    async with pay_db.write_session() as session:
        await session.execute(
            update(Payment).where(Payment.id == payment["payment_id"]).values(status=Status.AUTHORISATION_READY.value)
        )
    response = api.post(f"/v1/payments/{payment['payment_id']}/cancel")
    assert (response.status_code, response.json()) == (
        409,
        {"code": "P0502", "description": "Cancellation of payment failed"},
    )


def test_only_a_capturable_payment_can_be_captured(api: httpx.Client) -> None:
    payment = new_payment(api)
    response = api.post(f"/v1/payments/{payment['payment_id']}/capture")
    assert (response.status_code, response.json()) == (
        409,
        {"code": "P1003", "description": "Payment cannot be captured"},
    )


async def test_capture_then_the_provider_capture(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = capturable(pay_rig, api)
    payment_id = payment["payment_id"]
    response = api.post(f"/v1/payments/{payment_id}/capture")
    assert response.status_code == 204 and response.content == b""
    got = api.get(f"/v1/payments/{payment_id}").json()
    assert got["state"] == {"status": "success", "finished": True}
    assert got["settlement_summary"] == {}
    assert set(got["_links"]) == {"self", "events", "refunds"}
    assert api.post(f"/v1/payments/{payment_id}/capture").status_code == 204  # already success: a no-op
    await tasks.capture_payment(worker_ctx, payment_id)
    assert await status_of(pay_db, payment_id) == Status.CAPTURED
    summary = api.get(f"/v1/payments/{payment_id}").json()["settlement_summary"]
    assert set(summary) == {"capture_submit_time", "captured_date"}
    assert summary["capture_submit_time"][:10] == summary["captured_date"]
    assert [e["state"]["status"] for e in api.get(f"/v1/payments/{payment_id}/events").json()["events"]] == [
        "created",
        "started",
        "capturable",
        "success",
    ]


async def test_cancel_a_capturable_payment_voids_its_authorisation(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = capturable(pay_rig, api)
    provider = worker_ctx["providers"]["sandbox"] = CountingSandbox()
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    assert await status_of(pay_db, payment["payment_id"]) == Status.SYSTEM_CANCEL_READY
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "cancelled"
    await tasks.void_payment(worker_ctx, payment["payment_id"])
    await tasks.void_payment(worker_ctx, payment["payment_id"])  # a duplicate job changes nothing
    assert await status_of(pay_db, payment["payment_id"]) == Status.SYSTEM_CANCELLED
    assert provider.calls["void"] == 1
    assert api.post(f"/v1/payments/{payment['payment_id']}/capture").status_code == 409


async def test_concurrent_captures_capture_once(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = capturable(pay_rig, api)
    payment_id = payment["payment_id"]
    provider = worker_ctx["providers"]["sandbox"] = CountingSandbox()
    async with pay_rig.async_api(pay_rig.main.account()) as client:
        answers = await asyncio.gather(*(client.post(f"/v1/payments/{payment_id}/capture") for _ in range(20)))
    assert {a.status_code for a in answers} == {204}
    await asyncio.gather(*(tasks.capture_payment(worker_ctx, payment_id) for _ in range(5)))
    assert provider.calls["capture"] == 1
    async with pay_db.read_session() as session:
        approved = await session.execute(
            select(func.count())
            .select_from(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id, PaymentEvent.status == Status.CAPTURE_APPROVED.value)
        )
        assert approved.scalar_one() == 1
    assert await status_of(pay_db, payment_id) == Status.CAPTURED


async def test_a_failing_capture_is_retried_then_ends_in_error(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    from services.pay.provider.base import ProviderError

    class Refusing(SandboxProvider):
        async def capture(self, **kwargs: Any) -> None:
            raise ProviderError("acquirer unavailable")

    worker_ctx["providers"]["sandbox"] = Refusing()
    payment = capturable(pay_rig, api)
    payment_id = payment["payment_id"]
    assert api.post(f"/v1/payments/{payment_id}/capture").status_code == 204
    pay_rig.settings.capture_max_attempts = 2
    try:
        await tasks.capture_payment(worker_ctx, payment_id)
        assert await status_of(pay_db, payment_id) == Status.CAPTURE_APPROVED_RETRY
        await tasks.capture_payment(worker_ctx, payment_id)  # not due yet: the claim matches nothing
        assert await status_of(pay_db, payment_id) == Status.CAPTURE_APPROVED_RETRY
        async with pay_db.write_session() as session:
            await session.execute(update(Payment).where(Payment.id == payment_id).values(next_attempt_at=utcnow()))
        await tasks.capture_payment(worker_ctx, payment_id)
    finally:
        pay_rig.settings.capture_max_attempts = 26
    assert await status_of(pay_db, payment_id) == Status.CAPTURE_ERROR
    got = api.get(f"/v1/payments/{payment_id}").json()
    assert got["state"] == {
        "status": "error",
        "finished": True,
        "code": "P0050",
        "message": "Payment provider returned an error",
    }
    statuses = [e["state"]["status"] for e in api.get(f"/v1/payments/{payment_id}/events").json()["events"]]
    assert statuses == ["created", "started", "capturable", "success", "error"]
