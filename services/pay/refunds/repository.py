"""Every refund query, scoped to the caller's account like the payments'."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.payments.models import Payment
from services.pay.refunds.models import Refund


async def get(session: AsyncSession, payment_id: str, refund_id: str) -> Refund | None:
    refund: Refund | None = (
        await session.execute(select(Refund).where(Refund.id == refund_id, Refund.payment_id == payment_id))
    ).scalar_one_or_none()
    return refund


async def of_payment(session: AsyncSession, payment_id: str) -> Sequence[Refund]:
    query = select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at, Refund.id)
    return (await session.execute(query)).scalars().all()


async def add_to_refunded(session: AsyncSession, payment_id: str, amount: int) -> None:
    """`refunded_amount += amount` as one UPDATE: the CHECK on the payment refuses any total over what was paid,
    and a negative `amount` (a refund that failed) gives money back."""
    await session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(refunded_amount=Payment.refunded_amount + amount)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class RefundFilters:
    from_date: datetime | None = None
    to_date: datetime | None = None
    from_settled_date: date | None = None
    to_settled_date: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.from_date is not None:
            found.append(Refund.created_at >= self.from_date)
        if self.to_date is not None:
            found.append(Refund.created_at < self.to_date)
        if self.from_settled_date is not None:
            found.append(Refund.settled_date >= self.from_settled_date)
        if self.to_settled_date is not None:
            found.append(Refund.settled_date <= self.to_settled_date)
        return found


async def search(
    session: AsyncSession, service_id: uuid.UUID, mode: str, filters: RefundFilters, *, offset: int, limit: int
) -> tuple[int, Sequence[Refund]]:
    where = [Refund.service_id == service_id, Refund.mode == mode, *filters.conditions()]
    total = (await session.execute(select(func.count()).select_from(Refund).where(*where))).scalar_one()
    query = select(Refund).where(*where).order_by(Refund.created_at.desc(), Refund.id.desc()).offset(offset)
    return int(total), (await session.execute(query.limit(limit))).scalars().all()
