"""Daily sending limits per service and channel (notify spec §11.2), counted in Redis.

Counter `{service_id}-{type}-{YYYY-MM-DD}-count` (UTC date, 24 h TTL) for `email`, `sms`, `letter` and
`international_sms`. Checked before each send, incremented when a notification is stored; test keys never count.
If Redis is unreachable the check fails open, as the per-minute limit does, with a log line and a metric.

Each process keeps the last value it read or incremented (`DailyCounts`). While that reading is under a second
old and leaves a wide margin (a tenth of the limit, at least 1,000), a send is let through without asking Redis:
no set of processes sends that margin in a second, so the limit holds exactly, and a service near its limit is
always checked against Redis. This saves a Redis round trip on almost every send of a busy service.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.notify.errors import TooManyRequestsError
from services.notify.tenancy.models import NotifyService

if TYPE_CHECKING:
    from services.notify.notifications.models import Notification

log = structlog.get_logger("notify.limits")
LIMITS_UNAVAILABLE = Counter("gaap_notify_daily_limit_unavailable_total", "Daily-limit checks made without Redis")
TTL_SECONDS = 24 * 3600
#: How old a reading may be to let a send through without Redis, and how much of the limit it must leave.
FRESH_SECONDS = 1.0
MIN_MARGIN = 1000


def _key(service_id: object, channel: str, now: datetime | None = None) -> str:
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"{service_id}-{channel}-{day}-count"


def limit_of(service: NotifyService, channel: str) -> int:
    return int(getattr(service, f"{channel}_message_limit"))


def margin(limit: int) -> int:
    return max(limit // 10, MIN_MARGIN)


def channels_counted(key_type: str, notification_type: str, international: bool) -> tuple[str, ...]:
    """The daily counters one stored notification adds to: its channel, and international texts also their own.
    Test keys never count."""
    if key_type == "test":
        return ()
    if notification_type == "sms" and international:
        return ("sms", "international_sms")
    return (notification_type,)


def tally(rows: Iterable[Notification | Mapping[str, Any]]) -> Tally[tuple[object, str]]:
    """How many of `rows` (new notifications, as objects or as the writer's column values) each daily counter
    gains, by (service id, channel): what `DailyCounts.increment_many` takes."""
    counts: Tally[tuple[object, str]] = Tally()
    for row in rows:
        values = row if isinstance(row, Mapping) else row.__dict__
        channels = channels_counted(values["key_type"], values["notification_type"], bool(values.get("international")))
        for channel in channels:
            counts[values["service_id"], channel] += 1
    return counts


class DailyCounts:
    """Today's counters of one process: read, checked and incremented through here."""

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.clock = clock
        #: Redis key -> (value, when read)
        self._seen: dict[str, tuple[int, float]] = {}

    async def sent_today(self, service: NotifyService, channel: str) -> int | None:
        """Exactly, from Redis (None if Redis is unreachable)."""
        key = _key(service.id, channel)
        try:
            value = int(await self.redis.get(key) or 0)
        except (RedisError, OSError):
            LIMITS_UNAVAILABLE.inc()
            return None
        self._note(key, value)
        return value

    async def check(self, service: NotifyService, channel: str, count: int = 1) -> None:
        """Raise `TooManyRequestsError` if `count` more would pass today's limit for `channel`."""
        limit = limit_of(service, channel)
        seen = self._seen.get(_key(service.id, channel))
        if seen is not None and self.clock() - seen[1] < FRESH_SECONDS and seen[0] + count + margin(limit) <= limit:
            return
        sent = await self.sent_today(service, channel)
        if sent is None:
            log.warning("daily limit unchecked: redis unavailable", service_id=str(service.id), channel=channel)
            return
        if sent + count > limit:
            raise TooManyRequestsError.daily(channel, limit)

    async def increment(self, service_id: object, channels: tuple[str, ...] | list[str], count: int = 1) -> None:
        """Count stored notifications; a Redis failure loses a count, never a message."""
        await self.increment_many({(service_id, channel): count for channel in channels})

    async def increment_many(self, counts: Mapping[tuple[object, str], int]) -> None:
        """Count stored notifications by (service id, channel), in one round trip."""
        if not counts:
            return
        keys = [_key(service_id, channel) for service_id, channel in counts]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, count in zip(keys, counts.values(), strict=True):
                    pipe.incrby(key, count)
                    pipe.expire(key, TTL_SECONDS)
                replies = await pipe.execute()
        except (RedisError, OSError):
            LIMITS_UNAVAILABLE.inc()
            log.warning("daily limit not counted: redis unavailable", services=sorted({str(s) for s, _ in counts}))
            return
        for key, value in zip(keys, replies[::2], strict=True):
            self._note(key, int(value))

    def _note(self, key: str, value: int) -> None:
        if len(self._seen) > 100_000:  # yesterday's keys and idle services: start again rather than grow
            self._seen.clear()
        self._seen[key] = (value, self.clock())


def resets_at(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
