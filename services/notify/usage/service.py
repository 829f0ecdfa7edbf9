"""A service's usage as the console shows it: every day of the range (days without messages count zero), each
channel's messages in four status groups, and today's daily limits with what is used of them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.usage import DayRange
from services.notify.limits.counters import DailyCounts, limit_of
from services.notify.tenancy.models import NotifyService
from services.notify.usage import repository
from services.notify.usage.schemas import ChannelCounts, DailyLimit, Today, Usage, UsageDay

#: Stored statuses (notify spec §8) in the groups an admin reads: still on its way, delivered (or handed to a
#: provider that reports no further, `sent`), failed for whatever reason, or cancelled before it went.
STATUS_GROUPS: Mapping[str, tuple[str, ...]] = {
    "sending": ("created", "sending", "pending", "pending-virus-check"),
    "delivered": ("delivered", "sent"),
    "failed": (
        "failed",
        "technical-failure",
        "temporary-failure",
        "permanent-failure",
        "validation-failed",
        "virus-scan-failed",
        "returned-letter",
    ),
    "cancelled": ("cancelled",),
}
GROUP_OF = {status: group for group, statuses in STATUS_GROUPS.items() for status in statuses}
#: The daily limits (notify spec §11.2): one per channel, and international texts also have their own.
LIMITED_CHANNELS = ("email", "sms", "letter", "international_sms")


async def usage(
    session: AsyncSession,
    counts: DailyCounts,
    service_id: uuid.UUID,
    service: NotifyService | None,
    days: DayRange,
    *,
    today: date | None = None,
) -> Usage:
    """The usage of `service_id` over `days`; `today` is None when notify has no record of the service (nothing
    was ever pushed), since its limits are then unknown."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for day, channel, status, count in await repository.counts_by_day(session, service_id, days):
        groups = found.setdefault((day, channel), dict.fromkeys(STATUS_GROUPS, 0))
        groups[GROUP_OF[status]] += count

    def counted(day: date, channel: str) -> ChannelCounts:
        return ChannelCounts(**found.get((day.isoformat(), channel), {}))

    per_day = [
        UsageDay(date=day, email=counted(day, "email"), sms=counted(day, "sms"), letter=counted(day, "letter"))
        for day in days.days()
    ]
    return Usage(
        from_=days.first,
        to=days.last,
        days=per_day,
        today=await _today(counts, service, today or datetime.now(UTC).date()) if service is not None else None,
    )


async def _today(counts: DailyCounts, service: NotifyService, day: date) -> Today:
    limits = {}
    for channel in LIMITED_CHANNELS:
        limits[channel] = DailyLimit(limit=limit_of(service, channel), used=await counts.sent_today(service, channel))
    return Today(date=day, daily_limits=limits)
