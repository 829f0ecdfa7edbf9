"""Creating a refund (pay spec §6). The checks and the insert run in one transaction holding the payment's lock
(PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the write session's `BEGIN IMMEDIATE`), so concurrent refunds can
never total more than was paid; the `refunded_amount` CHECK is the second line of defence."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.pay.disputes import repository as disputes_repo
from services.pay.errors import CREATE_REFUND, PayError, pay_error
from services.pay.formats import datetime_ms, iso_date
from services.pay.ids import new_id
from services.pay.payments import repository as payments_repo
from services.pay.payments.representation import Origins, link, refund_summary
from services.pay.refunds import repository as repo
from services.pay.refunds.models import SUBMITTED, Refund
from services.pay.refunds.validation import RefundRequest


def not_available(status: str) -> PayError:
    return pay_error(400, "P0603", f"The payment is not available for refund. Payment refund status: {status}")


async def create(
    session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str, wanted: RefundRequest
) -> Refund:
    payment = await payments_repo.get(session, service_id, mode, payment_id, for_update=True)
    if payment is None:
        raise CREATE_REFUND.not_found_error()
    summary = refund_summary(payment)
    if summary["status"] != "available":
        raise not_available(summary["status"])
    if await disputes_repo.blocks_refund(session, payment.id):
        raise pay_error(400, "P0603", "The payment is disputed and cannot be refunded")
    if wanted.expected_available is not None and wanted.expected_available != summary["amount_available"]:
        raise pay_error(412, "P0604", "Refund amount available mismatch.")
    if wanted.amount > summary["amount_available"]:
        raise not_available("amount_not_available")
    now = utcnow()
    refund = Refund(
        id=new_id(),
        payment_id=payment.id,
        service_id=service_id,
        mode=mode,
        amount=wanted.amount,
        status=SUBMITTED,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    session.add(refund)
    try:
        await repo.add_to_refunded(session, payment.id, wanted.amount)
        await session.flush()
    except IntegrityError:  # only reachable if the lock failed: the CHECK held the invariant
        raise not_available("amount_not_available") from None
    return refund


def refund_json(refund: Refund, origins: Origins) -> dict[str, Any]:
    payment_href = origins.payment(refund.payment_id)
    settlement = {"settled_date": iso_date(refund.settled_date)} if refund.settled_date is not None else {}
    return {
        "refund_id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "status": refund.status,
        "created_date": datetime_ms(refund.created_at),
        "settlement_summary": settlement,
        "_links": {"self": link(f"{payment_href}/refunds/{refund.id}"), "payment": link(payment_href)},
    }
