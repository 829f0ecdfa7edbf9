"""The usage queries: `GROUP BY` day and status over one account's payments, and over its refunds."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.usage import DayRange, utc_day
from services.pay.payments.models import Payment
from services.pay.refunds.models import Refund


async def payments_by_day(
    session: AsyncSession, service_id: uuid.UUID, mode: str, days: DayRange
) -> list[tuple[str, str, int, int]]:
    """(day `YYYY-MM-DD`, internal status, count, sum of amounts) of the account's payments created in `days`."""
    day = utc_day(Payment.created_at)
    query = (
        select(day, Payment.status, func.count(), func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.service_id == service_id,
            Payment.mode == mode,
            Payment.created_at >= days.start,
            Payment.created_at < days.end,
        )
        .group_by(day, Payment.status)
    )
    return [(str(d), str(status), int(n), int(total)) for d, status, n, total in await session.execute(query)]


async def refunds_by_day(
    session: AsyncSession, service_id: uuid.UUID, mode: str, days: DayRange
) -> list[tuple[str, str, int, int]]:
    """(day `YYYY-MM-DD`, status, count, sum of amounts) of the account's refunds created in `days`."""
    day = utc_day(Refund.created_at)
    query = (
        select(day, Refund.status, func.count(), func.coalesce(func.sum(Refund.amount), 0))
        .where(
            Refund.service_id == service_id,
            Refund.mode == mode,
            Refund.created_at >= days.start,
            Refund.created_at < days.end,
        )
        .group_by(day, Refund.status)
    )
    return [(str(d), str(status), int(n), int(total)) for d, status, n, total in await session.execute(query)]
