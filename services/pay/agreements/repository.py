"""Every agreement and instrument query, scoped to the caller's account like payments (§2)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.agreements.models import Agreement, PaymentInstrument
from services.pay.payments.models import Payment


async def get(
    session: AsyncSession, service_id: uuid.UUID, mode: str, agreement_id: str, *, for_update: bool = False
) -> Agreement | None:
    query = select(Agreement).where(
        Agreement.id == agreement_id, Agreement.service_id == service_id, Agreement.mode == mode
    )
    if for_update:
        query = query.with_for_update()
    agreement: Agreement | None = (await session.execute(query)).scalar_one_or_none()
    return agreement


async def get_by_id(session: AsyncSession, agreement_id: str, *, for_update: bool = False) -> Agreement | None:
    query = select(Agreement).where(Agreement.id == agreement_id)
    if for_update:
        query = query.with_for_update()
    agreement: Agreement | None = (await session.execute(query)).scalar_one_or_none()
    return agreement


async def instrument(session: AsyncSession, instrument_id: str | None) -> PaymentInstrument | None:
    if instrument_id is None:
        return None
    found: PaymentInstrument | None = await session.get(PaymentInstrument, instrument_id)
    return found


async def instruments(session: AsyncSession, ids: Sequence[str]) -> dict[str, PaymentInstrument]:
    if not ids:
        return {}
    rows = (await session.execute(select(PaymentInstrument).where(PaymentInstrument.id.in_(list(ids))))).scalars()
    return {row.id: row for row in rows}


async def pending_instrument(session: AsyncSession, setup_payment_id: str) -> PaymentInstrument | None:
    found: PaymentInstrument | None = (
        await session.execute(select(PaymentInstrument).where(PaymentInstrument.setup_payment_id == setup_payment_id))
    ).scalar_one_or_none()
    return found


async def set_status(
    session: AsyncSession,
    model: type[Agreement] | type[PaymentInstrument],
    ident: str,
    *,
    from_status: str,
    **values: Any,
) -> bool:
    """One conditional UPDATE: True if the row was in `from_status` and has moved."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(model)
            .where(model.id == ident, model.status == from_status)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return result.rowcount == 1


async def search(
    session: AsyncSession,
    service_id: uuid.UUID,
    mode: str,
    *,
    reference: str | None,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[Agreement]]:
    """(total matches, one page newest first: `created_date` descending, then ID)."""
    where: list[ColumnElement[bool]] = [Agreement.service_id == service_id, Agreement.mode == mode]
    if reference is not None:
        where.append(func.lower(Agreement.reference) == reference.lower())
    if status is not None:
        where.append(Agreement.status == status)
    total = (await session.execute(select(func.count()).select_from(Agreement).where(*where))).scalar_one()
    query = (
        select(Agreement)
        .where(*where)
        .order_by(Agreement.created_at.desc(), Agreement.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total), (await session.execute(query)).scalars().all()


async def overdue_recurring(session: AsyncSession, statuses: Sequence[str], before: datetime, limit: int) -> list[str]:
    """Recurring payments waiting for the worker whose job looks lost (a sweep, §8)."""
    query = (
        select(Payment.id)
        .where(
            Payment.authorisation_mode == "agreement",
            Payment.status.in_(list(statuses)),
            Payment.next_attempt_at < before,
        )
        .order_by(Payment.next_attempt_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
