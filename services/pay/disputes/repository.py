"""Every dispute query, scoped to the caller's account like the payments' and refunds'."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.disputes.models import BLOCKS_REFUND, LOST, PUBLIC_STATUSES, WON, Dispute

#: The statuses a dispute moves on from (its `next_step_at` is set).
STEPPING = tuple(s for s in (*PUBLIC_STATUSES, "opening") if s not in (LOST, WON))


async def blocks_refund(session: AsyncSession, payment_id: str) -> bool:
    """Whether the payment has an open or lost dispute (§6)."""
    query = select(exists().where(Dispute.payment_id == payment_id, Dispute.status.in_(BLOCKS_REFUND)))
    return bool((await session.execute(query)).scalar_one())


async def of_payment(session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str) -> Sequence[Dispute]:
    """The payment's disputes that have opened, oldest first."""
    query = (
        select(Dispute)
        .where(
            Dispute.service_id == service_id,
            Dispute.mode == mode,
            Dispute.payment_id == payment_id,
            Dispute.status.in_(PUBLIC_STATUSES),
        )
        .order_by(Dispute.opened_at, Dispute.id)
    )
    return (await session.execute(query)).scalars().all()


@dataclass(frozen=True)
class DisputeFilters:
    from_date: datetime | None = None
    to_date: datetime | None = None
    from_settled_date: date | None = None
    to_settled_date: date | None = None
    status: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [
            Dispute.status == self.status if self.status else Dispute.status.in_(PUBLIC_STATUSES)
        ]
        if self.from_date is not None:
            found.append(Dispute.opened_at >= self.from_date)
        if self.to_date is not None:
            found.append(Dispute.opened_at < self.to_date)
        if self.from_settled_date is not None:
            found.append(Dispute.settled_date >= self.from_settled_date)
        if self.to_settled_date is not None:
            found.append(Dispute.settled_date <= self.to_settled_date)
        return found


async def search(
    session: AsyncSession, service_id: uuid.UUID, mode: str, filters: DisputeFilters, *, offset: int, limit: int
) -> tuple[int, Sequence[Dispute]]:
    where = [Dispute.service_id == service_id, Dispute.mode == mode, *filters.conditions()]
    total = (await session.execute(select(func.count()).select_from(Dispute).where(*where))).scalar_one()
    query = select(Dispute).where(*where).order_by(Dispute.opened_at.desc(), Dispute.id.desc()).offset(offset)
    return int(total), (await session.execute(query.limit(limit))).scalars().all()


async def due(session: AsyncSession, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
    """(id, status) of disputes whose next step is due, oldest first."""
    query = (
        select(Dispute.id, Dispute.status)
        .where(Dispute.status.in_(STEPPING), Dispute.next_step_at <= now)
        .order_by(Dispute.next_step_at, Dispute.id)
        .limit(limit)
    )
    return [(row.id, row.status) for row in (await session.execute(query)).all()]


async def step(session: AsyncSession, dispute_id: str, *, expected: str, now: datetime, **values: Any) -> bool:
    """Move a due dispute on from `expected`; False if another worker already did (a conditional UPDATE)."""
    stmt = (
        update(Dispute)
        .where(
            Dispute.id == dispute_id,
            Dispute.status == expected,
            Dispute.next_step_at.is_not(None),
            Dispute.next_step_at <= now,
        )
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], await session.execute(stmt))
    return result.rowcount == 1
