"""Every sign-in query: the per-day aggregate and the newest sign-ins of a service."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.usage import DayRange, utc_day
from services.identity.usage.models import SignIn


async def counts_by_day(
    session: AsyncSession, service_id: uuid.UUID, days: DayRange
) -> list[tuple[str, str, str | None, str | None, int]]:
    """(day `YYYY-MM-DD`, credential, identity, proving, count) of the service's sign-ins in `days`."""
    day = utc_day(SignIn.created_at)
    query = (
        select(day, SignIn.credential, SignIn.identity, SignIn.proving, func.count())
        .where(SignIn.service_id == service_id, SignIn.created_at >= days.start, SignIn.created_at < days.end)
        .group_by(day, SignIn.credential, SignIn.identity, SignIn.proving)
    )
    return [(str(d), str(c), i, p, int(n)) for d, c, i, p, n in await session.execute(query)]


async def newest(session: AsyncSession, service_id: uuid.UUID, limit: int) -> list[SignIn]:
    query = (
        select(SignIn)
        .where(SignIn.service_id == service_id)
        .order_by(SignIn.created_at.desc(), SignIn.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
