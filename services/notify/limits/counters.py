"""Daily sending limits per service and channel (notify spec §11.2), counted in Redis.

Counter `{service_id}-{type}-{YYYY-MM-DD}-count` (UTC date, 24 h TTL) for `email`, `sms`, `letter` and
`international_sms`. Checked before each send, incremented when a notification is stored; test keys never count.
If Redis is unreachable the check fails open, as the per-minute limit does, with a log line and a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.notify.errors import TooManyRequestsError
from services.notify.tenancy.models import NotifyService

log = structlog.get_logger("notify.limits")
LIMITS_UNAVAILABLE = Counter("gaap_notify_daily_limit_unavailable_total", "Daily-limit checks made without Redis")
TTL_SECONDS = 24 * 3600


def _key(service_id: object, channel: str, now: datetime | None = None) -> str:
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"{service_id}-{channel}-{day}-count"


def limit_of(service: NotifyService, channel: str) -> int:
    return int(getattr(service, f"{channel}_message_limit"))


async def sent_today(redis: Redis, service: NotifyService, channel: str) -> int | None:
    try:
        value = await redis.get(_key(service.id, channel))
    except (RedisError, OSError):
        LIMITS_UNAVAILABLE.inc()
        return None
    return int(value or 0)


async def check(redis: Redis, service: NotifyService, channel: str, count: int = 1) -> None:
    """Raise `TooManyRequestsError` if `count` more would pass today's limit for `channel`."""
    sent = await sent_today(redis, service, channel)
    if sent is None:
        log.warning("daily limit unchecked: redis unavailable", service_id=str(service.id), channel=channel)
        return
    limit = limit_of(service, channel)
    if sent + count > limit:
        raise TooManyRequestsError.daily(channel, limit)


async def increment(redis: Redis, service_id: object, channels: list[str], count: int = 1) -> None:
    """Count stored notifications; a Redis failure loses a count, never a message."""
    await increment_many(redis, {(service_id, channel): count for channel in channels})


async def increment_many(redis: Redis, counts: Mapping[tuple[object, str], int]) -> None:
    """Count stored notifications by (service id, channel), in one round trip."""
    if not counts:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for (service_id, channel), count in counts.items():
                key = _key(service_id, channel)
                pipe.incrby(key, count)
                pipe.expire(key, TTL_SECONDS)
            await pipe.execute()
    except (RedisError, OSError):
        LIMITS_UNAVAILABLE.inc()
        log.warning("daily limit not counted: redis unavailable", services=sorted({str(s) for s, _ in counts}))


def resets_at(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def channels_counted(key_type: str, notification_type: str, international: bool) -> tuple[str, ...]:
    """The daily counters one stored notification adds to: its channel, and international texts also their own.
    Test keys never count."""
    if key_type == "test":
        return ()
    if notification_type == "sms" and international:
        return ("sms", "international_sms")
    return (notification_type,)
