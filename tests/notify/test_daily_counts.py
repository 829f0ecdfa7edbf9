"""Today's counters (`services.notify.limits.counters.DailyCounts`) on the real Redis: exact near a limit, and
without a Redis read per send while a recent reading leaves a wide margin."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from services.notify.errors import TooManyRequestsError
from services.notify.limits.counters import FRESH_SECONDS, DailyCounts, _key, tally
from services.notify.notifications.models import Notification
from services.notify.tenancy.models import NotifyService


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def service(email_limit: int) -> NotifyService:
    return NotifyService(id=uuid.uuid4(), name="Counted", email_message_limit=email_limit)


async def test_a_small_limit_is_always_checked_against_redis(redis: Redis) -> None:
    counts = DailyCounts(redis, clock=Clock())
    svc = service(50)
    await counts.increment_many({(svc.id, "email"): 49})
    await counts.check(svc, "email")  # the 50th
    await redis.incr(_key(svc.id, "email"))  # another process sent it
    with pytest.raises(TooManyRequestsError):
        await counts.check(svc, "email")


async def test_a_fresh_reading_far_from_the_limit_spares_the_redis_read(redis: Redis) -> None:
    clock = Clock()
    counts = DailyCounts(redis, clock=clock)
    svc = service(20_000)  # margin: 2,000
    await counts.increment_many({(svc.id, "email"): 500})
    await redis.set(_key(svc.id, "email"), 20_000)  # behind our back: only a Redis read would see it
    await counts.check(svc, "email")  # 500 + 1 + 2,000 <= 20,000 and the reading is fresh: no read
    clock.now += FRESH_SECONDS
    with pytest.raises(TooManyRequestsError):
        await counts.check(svc, "email")  # stale reading: read, and refused


async def test_near_the_limit_every_check_reads_redis(redis: Redis) -> None:
    counts = DailyCounts(redis, clock=Clock())
    svc = service(20_000)
    await counts.increment_many({(svc.id, "email"): 18_000})  # inside the margin
    await counts.check(svc, "email")
    await redis.set(_key(svc.id, "email"), 20_000)
    with pytest.raises(TooManyRequestsError):
        await counts.check(svc, "email")


async def test_increments_report_what_redis_holds_and_expire(redis: Redis) -> None:
    counts = DailyCounts(redis)
    svc = service(100)
    await counts.increment(svc.id, ("email",), 3)
    await counts.increment_many({(svc.id, "email"): 2, (svc.id, "sms"): 1})
    assert await counts.sent_today(svc, "email") == 5
    assert 0 < await redis.ttl(_key(svc.id, "email")) <= 24 * 3600


async def test_without_redis_the_check_fails_open_and_counts_are_lost_not_raised() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    counts = DailyCounts(client)
    svc = service(1)
    try:
        await counts.check(svc, "email")
        await counts.increment(svc.id, ("email",))
        assert await counts.sent_today(svc, "email") is None
    finally:
        await client.aclose()


def test_tally_counts_what_each_daily_counter_gains() -> None:
    """Objects and the writer's column values count alike; international texts count twice; test keys never."""
    one, two = uuid.uuid4(), uuid.uuid4()
    rows = [
        Notification(service_id=one, key_type="normal", notification_type="email"),
        Notification(service_id=one, key_type="team", notification_type="sms", international=True),
        {"service_id": one, "key_type": "normal", "notification_type": "sms"},  # no `international`: not set
        {"service_id": two, "key_type": "normal", "notification_type": "letter", "international": False},
        Notification(service_id=two, key_type="test", notification_type="email"),
    ]
    assert tally(rows) == {(one, "email"): 1, (one, "sms"): 2, (one, "international_sms"): 1, (two, "letter"): 1}
