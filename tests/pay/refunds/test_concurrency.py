"""No race refunds more than was paid (pay spec §6, ARCHITECTURE rule 4): the lock on the payment (PostgreSQL
`FOR UPDATE`, SQLite `BEGIN IMMEDIATE`) serialises the checks and the insert, and the `refunded_amount` CHECK holds
the invariant in both databases even if the code were wrong."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from gaap.db.engine import Database
from services.pay.payments.models import Payment
from services.pay.refunds.models import Refund
from tests.pay.conftest import PayRig, authorise, moto_payment


async def test_200_concurrent_refunds_never_exceed_the_amount(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database
) -> None:
    payment = moto_payment(api, amount=1000)
    assert authorise(pay_rig, payment).status_code == 204
    payment_id = payment["payment_id"]
    async with pay_rig.async_api(pay_rig.main.account()) as client:
        answers = await asyncio.gather(
            *(client.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 7}) for _ in range(200))
        )
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert len(accepted) == 1000 // 7
    assert {a.status_code for a in refused} == {400}
    assert {a.json()["description"] for a in refused} <= {
        "The payment is not available for refund. Payment refund status: amount_not_available",
        "The payment is not available for refund. Payment refund status: available",
    }
    async with pay_db.read_session() as session:
        total = (
            await session.execute(
                select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment_id)
            )
        ).scalar_one()
        row = await session.get(Payment, payment_id)
        assert row is not None
        assert total == row.refunded_amount == 7 * (1000 // 7) <= 1000
    summary: dict[str, Any] = api.get(f"/v1/payments/{payment_id}").json()["refund_summary"]
    assert summary == {"status": "available", "amount_available": 1000 % 7, "amount_submitted": 7 * (1000 // 7)}


async def test_concurrent_refunds_of_the_whole_amount_refund_it_once(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database
) -> None:
    payment = moto_payment(api, amount=500)
    assert authorise(pay_rig, payment).status_code == 204
    async with pay_rig.async_api(pay_rig.main.account()) as client:
        answers = await asyncio.gather(
            *(client.post(f"/v1/payments/{payment['payment_id']}/refunds", json={"amount": 500}) for _ in range(30))
        )
    assert sorted(a.status_code for a in answers) == [202] + [400] * 29


@pytest.mark.parametrize("refunded", [1001, -1])
async def test_the_check_constraint_holds_the_invariant(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, refunded: int
) -> None:
    payment = moto_payment(api, amount=1000)
    with pytest.raises(IntegrityError):
        async with pay_db.write_session() as session:
            await session.execute(
                update(Payment).where(Payment.id == payment["payment_id"]).values(refunded_amount=refunded)
            )
