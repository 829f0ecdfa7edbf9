"""The kernel's GCRA rate limiter, against a real Redis, and the in-process fallback, which must match it.

The clock is frozen and advanced by hand in whole milliseconds, so every count below is exact: these are the
numbers notify §11.1 and pay §4.4 state, not approximations of them.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from gaap.ratelimit import (
    SCRIPT,
    SCRIPT_SHA,
    Decision,
    GcraLimiter,
    Limit,
    LocalGcraLimiter,
    RateLimiter,
    RateLimiterUnavailable,
)
from gaap.redis import create_redis

NOTIFY = Limit(count=3000, period=60, burst=1000)
PAY = Limit(count=15, period=1, burst=15)
PAY_LOW = Limit(count=1, period=60, burst=1)

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a realistic 13-digit epoch in ms


class FrozenClock:
    """Time in whole milliseconds, returned in seconds as the limiter's clock expects."""

    def __init__(self, ms: int = START_MS) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


@dataclass
class Subject:
    limiter: RateLimiter
    clock: FrozenClock
    redis: Redis | None
    prefix: str


@pytest.fixture(params=["redis", "local"])
def subject(request: pytest.FixtureRequest) -> Subject:
    """Each behaviour test runs against the shared limiter and against the per-process fallback."""
    clock = FrozenClock()
    if request.param == "local":
        return Subject(LocalGcraLimiter(clock=clock), clock, None, "")
    redis: Redis = request.getfixturevalue("redis")
    prefix = f"test:rl:{uuid.uuid4().hex[:8]}:"
    return Subject(GcraLimiter(redis, prefix=prefix, clock=clock), clock, redis, prefix)


async def drain(limiter: RateLimiter, key: str, limit: Limit) -> int:
    """Send cost-1 requests until one is denied; return how many were admitted."""
    admitted = 0
    while (await limiter.check(key, limit)).allowed:
        admitted += 1
        assert admitted <= limit.burst, "admitted more than a full bucket at one instant"
    return admitted


async def drive(subject: Subject, key: str, limit: Limit, total_ms: int, steps: list[int]) -> int:
    """Advance the clock through `total_ms` in steps of the given sizes (cycled), draining at each step."""
    admitted = 0
    elapsed = 0
    i = 0
    while elapsed < total_ms:
        step = min(steps[i % len(steps)], total_ms - elapsed)
        i += 1
        subject.clock.advance(step)
        elapsed += step
        admitted += await drain(subject.limiter, key, limit)
    return admitted


# --- notify §11.1 -------------------------------------------------------------------------------------------


async def test_notify_full_bucket_admits_exactly_1000_then_denies(subject: Subject) -> None:
    for i in range(1000):
        decision = await subject.limiter.check("svc-normal", NOTIFY)
        assert decision.allowed
        assert decision.remaining == 999 - i
    denied = await subject.limiter.check("svc-normal", NOTIFY)
    assert not denied.allowed
    assert denied.remaining == 0
    assert denied.limit == 3000
    assert denied.retry_after == pytest.approx(0.020)  # one emission interval: 60 s / 3000
    assert denied.reset_after == pytest.approx(20.0)  # 1000 cells of 20 ms each
    assert denied.headers() == {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "20",
        "Retry-After": "1",
    }


async def test_notify_each_further_60s_admits_exactly_3000(subject: Subject) -> None:
    assert await drain(subject.limiter, "svc-normal", NOTIFY) == 1000
    # Uneven steps (none divides the 20 ms interval), so exactness does not depend on landing on a boundary.
    rng = random.Random(1151)
    steps = [rng.choice([1, 3, 7, 13, 29, 61]) for _ in range(97)]
    for _period in range(2):
        assert await drive(subject, "svc-normal", NOTIFY, 60_000, steps) == 3000
    # And "the 3,001st request in a minute" is denied: the bucket is empty at the end of each minute.
    assert not (await subject.limiter.check("svc-normal", NOTIFY)).allowed


async def test_notify_burst_is_capped_at_1000_however_long_the_wait(subject: Subject) -> None:
    assert await drain(subject.limiter, "svc-normal", NOTIFY) == 1000
    subject.clock.advance(60_000)
    assert await drain(subject.limiter, "svc-normal", NOTIFY) == 1000
    subject.clock.advance(3_600_000)
    assert await drain(subject.limiter, "svc-normal", NOTIFY) == 1000


async def test_buckets_are_independent(subject: Subject) -> None:
    assert await drain(subject.limiter, "svc-normal", NOTIFY) == 1000
    assert (await subject.limiter.check("svc-team", NOTIFY)).allowed


# --- pay §4.4 -----------------------------------------------------------------------------------------------


async def test_pay_15_per_second_burst_15(subject: Subject) -> None:
    assert await drain(subject.limiter, "POST-acct", PAY) == 15
    denied = await subject.limiter.check("POST-acct", PAY)
    assert denied.retry_after == pytest.approx(1 / 15)
    subject.clock.advance(66)  # the interval is 66.67 ms: not yet
    assert not (await subject.limiter.check("POST-acct", PAY)).allowed
    subject.clock.advance(1)
    assert (await subject.limiter.check("POST-acct", PAY)).allowed
    subject.clock.advance(1000)  # that one cell is repaid 66.67 ms after it was taken: a full bucket again
    assert await drain(subject.limiter, "POST-acct", PAY) == 15


async def test_pay_rate_is_exact_although_the_interval_is_not_a_whole_ms(subject: Subject) -> None:
    assert await drain(subject.limiter, "POST-acct", PAY) == 15
    # 1000/15 ms is not a whole number of ms; rounding it would drift by 5 requests a minute.
    assert await drive(subject, "POST-acct", PAY, 60_000, [1, 5, 11, 23]) == 900
    assert await drive(subject, "POST-acct", PAY, 60_000, [7]) == 900


async def test_a_debt_of_less_than_a_millisecond_is_not_forgiven(subject: Subject) -> None:
    assert (await subject.limiter.check("POST-acct", PAY)).allowed  # repaid at +66.67 ms
    subject.clock.advance(66)  # the TAT's whole ms is now; 2/3 of a ms is still owed
    seen = await subject.limiter.peek("POST-acct", PAY)
    assert seen.remaining == 14
    assert seen.reset_after == pytest.approx(2 / 3 / 1000)
    assert await drain(subject.limiter, "POST-acct", PAY) == 14


async def test_pay_low_tier_one_per_60s(subject: Subject) -> None:
    assert (await subject.limiter.check("POST-acct", PAY_LOW)).allowed
    denied = await subject.limiter.check("POST-acct", PAY_LOW)
    assert not denied.allowed
    assert denied.retry_after == 60.0
    assert denied.headers()["Retry-After"] == "60"
    subject.clock.advance(59_999)
    denied = await subject.limiter.check("POST-acct", PAY_LOW)
    assert not denied.allowed
    assert denied.retry_after == pytest.approx(0.001)
    assert denied.headers()["Retry-After"] == "1"
    subject.clock.advance(1)
    assert (await subject.limiter.check("POST-acct", PAY_LOW)).allowed


# --- semantics ----------------------------------------------------------------------------------------------


async def test_denied_requests_consume_nothing(subject: Subject) -> None:
    assert await drain(subject.limiter, "k", PAY) == 15
    stored = await subject.redis.get(subject.prefix + "k") if subject.redis else None
    for _ in range(200):
        assert not (await subject.limiter.check("k", PAY)).allowed
    if subject.redis:
        assert await subject.redis.get(subject.prefix + "k") == stored
    subject.clock.advance(67)  # one interval later exactly one more, not one more minus 200 denials
    assert (await subject.limiter.check("k", PAY)).allowed
    assert not (await subject.limiter.check("k", PAY)).allowed


async def test_cost_consumes_several_cells_and_a_too_costly_request_nothing(subject: Subject) -> None:
    decision = await subject.limiter.check("k", PAY, cost=10)
    assert decision.allowed
    assert decision.remaining == 5
    denied = await subject.limiter.check("k", PAY, cost=6)
    assert not denied.allowed
    assert denied.remaining == 5  # five single requests would still get through
    assert denied.retry_after == pytest.approx(1 / 15)
    assert (await subject.limiter.check("k", PAY, cost=5)).allowed
    with pytest.raises(ValueError):
        await subject.limiter.check("k", PAY, cost=16)
    with pytest.raises(ValueError):
        await subject.limiter.check("k", PAY, cost=0)


async def test_allowed_decision_fields_and_headers(subject: Subject) -> None:
    decision = await subject.limiter.check("k", NOTIFY)
    assert decision == Decision(allowed=True, limit=3000, remaining=999, retry_after=0.0, reset_after=0.02)
    assert decision.headers() == {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "999",
        "RateLimit-Reset": "1",
    }


async def test_peek_does_not_consume(subject: Subject) -> None:
    fresh = await subject.limiter.peek("k", PAY)
    assert fresh == Decision(allowed=True, limit=15, remaining=15, retry_after=0.0, reset_after=0.0)
    for _ in range(50):
        await subject.limiter.peek("k", PAY)
    if subject.redis:
        assert await subject.redis.exists(subject.prefix + "k") == 0  # peek never writes
    await subject.limiter.check("k", PAY, cost=4)
    seen = await subject.limiter.peek("k", PAY)
    assert seen.allowed
    assert seen.remaining == 11
    assert await drain(subject.limiter, "k", PAY) == 11
    empty = await subject.limiter.peek("k", PAY)
    assert not empty.allowed
    assert empty.remaining == 0
    assert empty.retry_after == pytest.approx(1 / 15)
    assert empty.reset_after == pytest.approx(1.0)


async def test_a_limit_changed_under_a_live_bucket(subject: Subject) -> None:
    # A tier change (15/s -> 40/s) reads the old bucket safely. GCRA's debt is time, not cells: one Pay
    # request owes 66.67 ms, read under the new limit as 67 ms (rounded up to a whole ms): 2.68 cells at 40/s
    assert (await subject.limiter.check("k", PAY)).allowed
    elevated = Limit(count=40, period=1, burst=40)
    assert await drain(subject.limiter, "k", elevated) == 37
    subject.clock.advance(1000)
    assert await drain(subject.limiter, "k", elevated) == 40
    # And a bucket emptied under one limit is empty under another with the same tolerance (1 s of debt).
    subject.clock.advance(1000)
    assert await drain(subject.limiter, "k", PAY) == 15
    assert await drain(subject.limiter, "k", elevated) == 0


def test_limit_validation() -> None:
    assert NOTIFY.period_ms == 60_000
    assert Limit(count=1, period=0.25, burst=1).period_ms == 250
    for bad in [(0, 1, 1), (1, 1, 0), (1, 0, 1), (1, 0.0005, 1), (1, 1.0001, 1), (1, 10**9, 10**9)]:
        with pytest.raises(ValueError):
            Limit(*bad)


# --- Redis specifics ----------------------------------------------------------------------------------------


async def test_every_key_has_a_ttl_matching_its_reset(redis: Redis) -> None:
    clock = FrozenClock()
    prefix = "test:ttl:"
    limiter = GcraLimiter(redis, prefix=prefix, clock=clock)
    last: dict[str, Decision] = {}
    for i, limit in enumerate([NOTIFY, PAY, PAY_LOW]):
        for _ in range(3):
            decision = await limiter.check(f"k{i}", limit)
            if decision.allowed:
                last[f"k{i}"] = decision
        await limiter.peek(f"peeked-{i}", limit)
    keys = sorted([k.decode() async for k in redis.scan_iter(match="*")])
    assert keys == [f"{prefix}k0", f"{prefix}k1", f"{prefix}k2"]  # only the named keys; peek wrote nothing
    for name, decision in last.items():
        # The expiry is the time until the bucket is full again (rounded up to a whole ms), when the key would
        # mean the same as no key; less the little real time the test has taken since.
        pttl = await redis.pttl(prefix + name)
        assert pttl > 0, f"{name} has no expiry"
        assert math.ceil(decision.reset_after * 1000) - 100 <= pttl <= math.ceil(decision.reset_after * 1000)


async def test_stored_value_is_the_tat_in_ms(redis: Redis) -> None:
    clock = FrozenClock()
    limiter = GcraLimiter(redis, prefix="p:", clock=clock)
    await limiter.check("notify", NOTIFY, cost=3)
    assert await redis.get("p:notify") == f"{START_MS + 60}:0/3000".encode()
    await limiter.check("pay", PAY)  # 66 ms and 10/15 of a ms
    assert await redis.get("p:pay") == f"{START_MS + 66}:10/15".encode()


def test_script_touches_only_keys_it_is_given() -> None:
    code = re.sub(r"--\[\[.*?\]\]", "", SCRIPT, flags=re.S)
    calls = re.findall(r"redis\.(?:p?call)\(\s*'(\w+)'\s*,\s*([^,)]+)", code)
    assert sorted(c for c, _ in calls) == ["GET", "SET"]
    assert {arg.strip() for _, arg in calls} == {"key"}
    assert re.findall(r"redis\.(?:p?call)\(\s*'(\w+)'\s*\)", code) == ["TIME"]  # the only keyless call
    assert re.search(r"local key = KEYS\[1\]", code)
    assert "'PX'" in code  # every write carries an expiry


async def test_without_an_injected_clock_the_bucket_runs_on_redis_time(redis: Redis) -> None:
    """A caller's clock is read before its request reaches Redis; a process that waited in between brings a stale
    "now" and finds the bucket fuller than it is. By default the script reads Redis's own clock instead."""
    fast = Limit(count=1000, period=1, burst=1)  # one request a millisecond, one at once
    on_redis_time = GcraLimiter(redis, prefix="test:time:")
    assert (await on_redis_time.check("fast", fast)).allowed
    await asyncio.sleep(0.005)
    assert (await on_redis_time.check("fast", fast)).allowed  # refilled, by Redis's clock (a delay only helps)

    slow = Limit(count=1, period=60, burst=2)  # two at once, then one a minute
    assert (await on_redis_time.check("slow", slow)).allowed  # one left
    # A caller whose clock reading is 90 s old sees the bucket 150 s ahead of it, past the 120 s it may hold, and
    # would have been refused the request that is in fact still there.
    stale = GcraLimiter(redis, prefix="test:time:", clock=lambda: time.time() - 90)
    assert not (await stale.check("slow", slow)).allowed
    assert (await on_redis_time.check("slow", slow)).allowed


async def test_many_concurrent_checks_admit_exactly_the_burst(redis_url: str) -> None:
    clock = FrozenClock()
    limit = Limit(count=50, period=60, burst=50)
    # 96 connections opened at once: under a loaded test run that can take longer than the 1 s a service allows
    # itself to connect, and what this test checks is what is admitted, not how soon Redis answers.
    clients = [create_redis(redis_url, socket_timeout=10, max_connections=32) for _ in range(3)]
    try:
        limiters = [GcraLimiter(c, prefix="test:conc:", clock=clock) for c in clients]
        await clients[0].delete("test:conc:hot")
        decisions = await asyncio.gather(*(limiters[i % 3].check("hot", limit) for i in range(600)))
        assert sum(d.allowed for d in decisions) == 50
        assert sorted(d.remaining for d in decisions if d.allowed) == list(range(50))
    finally:
        for c in clients:
            await c.aclose()


async def test_noscript_is_recovered(redis: Redis) -> None:
    clock = FrozenClock()
    limiter = GcraLimiter(redis, prefix="test:ns:", clock=clock)
    await redis.script_flush()
    assert (await limiter.check("k", PAY)).remaining == 14  # never loaded: EVALSHA misses, EVAL runs
    await redis.script_flush()  # as after a restart or failover
    assert (await limiter.check("k", PAY)).remaining == 13
    assert (await limiter.peek("k", PAY)).remaining == 13
    assert (await redis.script_exists(SCRIPT_SHA))[0]  # cached again, so later calls are EVALSHA


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    start = time.monotonic()
    with pytest.raises(RateLimiterUnavailable):
        await fn()
    return time.monotonic() - start


async def test_unreachable_redis_raises_unavailable_fast() -> None:
    client = create_redis(f"redis://127.0.0.1:{closed_port()}/0")
    limiter = GcraLimiter(client)
    try:
        assert await timed(lambda: limiter.check("k", PAY)) < 1.5
        assert await timed(lambda: limiter.peek("k", PAY)) < 1.5
    finally:
        await client.aclose()


async def test_silent_redis_times_out_as_unavailable_and_cooldown_skips_it() -> None:
    """A server that accepts and never answers (a blackhole) is caught by the client's socket timeout."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = create_redis(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    limiter = GcraLimiter(client, cooldown=5.0)
    try:
        assert await timed(lambda: limiter.check("k", PAY)) < 1.0
        assert await timed(lambda: limiter.check("k", PAY)) < 0.05  # breaker open: Redis not even tried
    finally:
        await client.aclose()
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()


async def test_redis_recovers_after_cooldown(redis_url: str) -> None:
    dead = create_redis(f"redis://127.0.0.1:{closed_port()}/0")
    live = create_redis(redis_url)
    limiter = GcraLimiter(dead, prefix="test:cd:", cooldown=0.1)
    try:
        await timed(lambda: limiter.check("k", PAY))
        limiter._redis = live  # the same limiter, Redis back
        await timed(lambda: limiter.check("k", PAY))  # still cooling down
        await asyncio.sleep(0.15)
        assert (await limiter.check("k", PAY)).allowed
    finally:
        await live.delete("test:cd:k")
        await dead.aclose()
        await live.aclose()


# --- the per-process fallback -------------------------------------------------------------------------------


async def test_local_limiter_memory_is_bounded_lru() -> None:
    clock = FrozenClock()
    limiter = LocalGcraLimiter(max_keys=100, clock=clock)
    await limiter.check("hot", PAY_LOW)
    for i in range(1000):
        await limiter.check(f"k{i}", PAY_LOW)
        if i % 50 == 0:
            await limiter.check("hot", PAY_LOW)  # denied, but it keeps "hot" recently used
        assert len(limiter) <= 100
    assert len(limiter) == 100
    assert not (await limiter.check("hot", PAY_LOW)).allowed  # survived eviction: still owes its minute
    assert (await limiter.check("k0", PAY_LOW)).allowed  # evicted long ago: starts full again


async def test_local_limiter_forgets_full_buckets() -> None:
    clock = FrozenClock()
    limiter = LocalGcraLimiter(clock=clock)
    await limiter.check("a", PAY)
    assert len(limiter) == 1
    clock.advance(67)
    await limiter.peek("a", PAY)  # a full bucket is the same as none, like a Redis key past its PX
    assert len(limiter) == 0


def test_local_limiter_rejects_a_zero_size() -> None:
    with pytest.raises(ValueError):
        LocalGcraLimiter(max_keys=0)
