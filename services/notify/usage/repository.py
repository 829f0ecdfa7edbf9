"""The usage queries: one `GROUP BY` day, channel and status over the notifications a service sent, wherever they
are now (`notifications`, or `notification_history` once their retention has passed)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.usage import DayRange, utc_day
from services.notify.delivery.history import NotificationHistory
from services.notify.notifications.models import Notification

#: Messages sent with test keys are never delivered and never count, as on GOV.UK Notify's dashboard.
UNCOUNTED_KEY_TYPE = "test"


async def counts_by_day(
    session: AsyncSession, service_id: uuid.UUID, days: DayRange
) -> list[tuple[str, str, str, int]]:
    """(day `YYYY-MM-DD`, channel, stored status, count) of the service's counted messages created in `days`."""
    parts = [
        select(table.created_at, table.notification_type, table.status).where(
            table.service_id == service_id,
            table.key_type != UNCOUNTED_KEY_TYPE,
            table.created_at >= days.start,
            table.created_at < days.end,
        )
        for table in (Notification, NotificationHistory)
    ]
    sent = union_all(*parts).subquery()
    day = utc_day(sent.c.created_at)
    query = select(day, sent.c.notification_type, sent.c.status, func.count()).group_by(
        day, sent.c.notification_type, sent.c.status
    )
    return [(str(d), str(channel), str(status), int(n)) for d, channel, status, n in await session.execute(query)]
