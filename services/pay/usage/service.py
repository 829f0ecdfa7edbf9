"""An account's usage as the console shows it: every day of the range (days without payments count zero), its
payments by public state and its refunds by status, each counted and summed."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.usage import DayRange
from services.pay.payments.states import PUBLIC, PUBLIC_STATUSES, Status
from services.pay.refunds.models import ERROR, SUBMITTED, SUCCESS
from services.pay.usage import repository
from services.pay.usage.schemas import Tally, Usage, UsageDay

REFUND_STATUSES = (SUBMITTED, SUCCESS, ERROR)


async def usage(session: AsyncSession, service_id: uuid.UUID, mode: str, days: DayRange) -> Usage:
    payments: dict[str, dict[str, Tally]] = {}
    for day, status, count, amount in await repository.payments_by_day(session, service_id, mode, days):
        tally = payments.setdefault(day, {}).setdefault(PUBLIC[Status(status)].status, Tally())
        tally.count += count
        tally.amount += amount
    refunds: dict[str, dict[str, Tally]] = {}
    for day, status, count, amount in await repository.refunds_by_day(session, service_id, mode, days):
        refunds.setdefault(day, {})[status] = Tally(count=count, amount=amount)
    per_day = []
    for date in days.days():
        paid, refunded = payments.get(date.isoformat(), {}), refunds.get(date.isoformat(), {})
        per_day.append(
            UsageDay(
                date=date,
                payments={state: paid.get(state, Tally()) for state in PUBLIC_STATUSES},
                refunds={status: refunded.get(status, Tally()) for status in REFUND_STATUSES},
            )
        )
    return Usage(from_=days.first, to=days.last, mode=mode, days=per_day)
