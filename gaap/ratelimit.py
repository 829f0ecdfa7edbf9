"""Rate limiting: one GCRA (generic cell rate algorithm) limiter shared by every gateway process.

Why GCRA: a bucket is one value (its theoretical arrival time, TAT), updated by one atomic step, with no
background refill and no per-request bookkeeping. `Limit(count, period, burst)` admits `burst` requests at
once from a full bucket and refills one request every `period / count` seconds, so over any long stretch it
admits `count` per `period`. Notify's per-minute bucket is `Limit(3000, 60, 1000)`; Pay's are
`Limit(15, 1, 15)` and, in the low tier, `Limit(1, 60, 1)`.

Why one Redis Lua script (`ratelimit.lua`): the read-decide-write step must be atomic across processes, or two
gateways racing on one bucket both admit the last request. The script touches only the key passed in KEYS, so
it runs unchanged on Redis Cluster, and every write carries an expiry equal to the time until the bucket is
full again, so Redis never holds a key without a TTL. It is sent once and then run by its SHA1 (EVALSHA);
after a restart or SCRIPT FLUSH the NOSCRIPT reply is answered with one EVAL, which also caches it again.

Why time comes from Redis: one clock for every process that shares a bucket. A caller's clock is read before
its request reaches Redis, and on a busy host a process can wait tens of milliseconds between the two; its stale
"now" then finds the bucket fuller than it is, and a client well within its limit was refused (measured: a few
spurious 429s at 1,000 req/s under a 1,000,000 a minute limit). The script reads Redis's `TIME` instead. Tests
inject a clock (`clock=`), which is then passed in, so they can freeze time and count exactly. All arithmetic
is on whole milliseconds, measured in units of 1/count ms so that an emission interval such as 1000/15 ms
stays exact (see the script's header): "each further 60 s admits exactly 3,000 more" holds to the request,
with no floating-point drift.

Why `RateLimiterUnavailable`: what to do when Redis is down is a policy of each API family (Notify fails open,
Pay falls back to `LocalGcraLimiter`, identity fails closed), so the limiter only reports the outage, quickly,
and never decides for the caller.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

__all__ = [
    "Decision",
    "GcraLimiter",
    "Limit",
    "LocalGcraLimiter",
    "RateLimiter",
    "RateLimiterUnavailable",
]

#: The script text, read once at import. Packaged as data (`*.lua` in pyproject's package-data).
SCRIPT = resources.files("gaap").joinpath("ratelimit.lua").read_text(encoding="utf-8")
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode("utf-8"), usedforsecurity=False).hexdigest()

# Bounds that keep every duration the script computes (at most burst * period_ms units, plus one count) well
# inside the 2^53 integers a Lua double holds exactly.
_MAX_UNITS = 2**50
_MAX_COUNT = 2**31


class RateLimiterUnavailable(Exception):
    """The shared limiter could not decide (Redis unreachable, timed out, or refusing commands).

    Raised instead of a `Decision` so that each caller applies its own policy: fail open, fall back to a
    per-process `LocalGcraLimiter`, or fail closed with a 503.
    """


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` requests per `period` seconds (the refill rate), with a bucket of `burst` requests (capacity).

    `period` must be a whole number of milliseconds: the limiter counts in integer milliseconds.
    """

    count: int
    period: float
    burst: int

    def __post_init__(self) -> None:
        if self.count < 1 or self.burst < 1:
            raise ValueError(f"{self!r}: count and burst must be at least 1")
        if self.count > _MAX_COUNT:
            raise ValueError(f"{self!r}: count must be at most {_MAX_COUNT}")
        period_ms = round(self.period * 1000)
        if period_ms < 1 or abs(self.period * 1000 - period_ms) > 1e-6:
            raise ValueError(f"{self!r}: period must be a positive whole number of milliseconds")
        if self.burst * period_ms + self.count > _MAX_UNITS:
            raise ValueError(f"{self!r}: burst * period is too large to count exactly")

    @property
    def period_ms(self) -> int:
        return round(self.period * 1000)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one request.

    `remaining`: how many more cost-1 requests would be admitted right now. `retry_after`: seconds until one
    more would be admitted (0 when this one was). `reset_after`: seconds until the bucket is full again.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    reset_after: float

    def headers(self) -> dict[str, str]:
        """IETF draft headers `RateLimit-Limit`, `-Remaining` and `-Reset`, plus `Retry-After` if denied.

        Seconds are rounded up, so a client that waits as long as it is told is not refused again for the
        same reason; `Retry-After` is at least 1 because 0 would invite an immediate retry.
        """
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers


class RateLimiter(Protocol):
    """What callers depend on, so the shared and the per-process limiter are interchangeable."""

    async def check(self, key: str, limit: Limit, cost: int = 1) -> Decision: ...

    async def peek(self, key: str, limit: Limit) -> Decision: ...


def _check_cost(limit: Limit, cost: int) -> None:
    # A cost above the burst could never be admitted, however long the caller waited: that is a configuration
    # error, not a rate-limit answer, so it is refused loudly rather than given an endless Retry-After.
    if not 1 <= cost <= limit.burst:
        raise ValueError(f"cost must be between 1 and the burst ({limit.burst}), got {cost}")


def _now_ms(clock: Callable[[], float]) -> int:
    return round(clock() * 1000)


def _decision(limit: Limit, allowed: int, remaining: int, retry_units: int, reset_units: int) -> Decision:
    # One division of two integers gives the correctly rounded float, so a whole number of seconds stays whole
    # and the headers' ceil() never rounds 1.0000000001 up to 2.
    scale = limit.count * 1000
    return Decision(
        allowed=bool(allowed),
        limit=limit.count,
        remaining=int(remaining),
        retry_after=int(retry_units) / scale,
        reset_after=int(reset_units) / scale,
    )


class GcraLimiter:
    """The shared limiter: buckets in Redis, decided by `ratelimit.lua`.

    Keys are `prefix + key`. `cooldown` (seconds, off by default) is a small circuit breaker: after an outage
    is detected, calls raise `RateLimiterUnavailable` at once for that long instead of each waiting for a
    socket timeout, so a blackholed Redis costs one timeout per cooldown rather than one per request.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "gaap:rl:",
        clock: Callable[[], float] | None = None,
        cooldown: float = 0.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._cooldown = cooldown
        self._down_until = 0.0

    async def check(self, key: str, limit: Limit, cost: int = 1) -> Decision:
        """Admit and consume `cost` cells, or deny and consume nothing."""
        _check_cost(limit, cost)
        return await self._run(key, limit, cost)

    async def peek(self, key: str, limit: Limit) -> Decision:
        """What a cost-1 request would get now, without consuming or writing anything."""
        return await self._run(key, limit, 0)

    async def _run(self, key: str, limit: Limit, cost: int) -> Decision:
        if self._cooldown and time.monotonic() < self._down_until:
            raise RateLimiterUnavailable("rate limiter unavailable (cooling down after a Redis failure)")
        keys = [self._prefix + key]
        now = "" if self._clock is None else str(_now_ms(self._clock))  # "": Redis's own clock
        args = [now, *(str(n) for n in (limit.count, limit.period_ms, limit.burst, cost))]
        try:
            try:
                reply = await self._redis.evalsha(SCRIPT_SHA, len(keys), *keys, *args)  # type: ignore[misc]
            except NoScriptError:
                # Redis restarted, failed over or had its scripts flushed: EVAL runs and re-caches the script.
                reply = await self._redis.eval(SCRIPT, len(keys), *keys, *args)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            # OSError covers socket errors and the builtin TimeoutError that redis-py may let through.
            if self._cooldown:
                self._down_until = time.monotonic() + self._cooldown
            raise RateLimiterUnavailable(f"rate limiter unavailable: {type(exc).__name__}: {exc}") from exc
        allowed, remaining, retry_units, reset_units = reply
        return _decision(limit, allowed, remaining, retry_units, reset_units)


class LocalGcraLimiter:
    """The same GCRA, in this process only: the per-process fallback while Redis is down.

    Each process enforces its own limits, so with N processes a client may get up to N times the limit;
    callers size the fallback limits for that (Pay's 5 POST/s and 25 non-POST/s per account). Memory is
    bounded: at most `max_keys` buckets, the least recently used evicted first. Evicting a bucket that is not
    yet full forgets its debt (the key starts again with a full bucket), the right way to err for a fallback.

    Not thread-safe; it is meant for one event loop, where each call runs without yielding and so is atomic.
    """

    def __init__(self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._max_keys = max_keys
        self._clock = clock
        # key -> (TAT whole ms, TAT remainder in 1/count ms, the count it was written with): as in the script.
        self._buckets: OrderedDict[str, tuple[int, int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def check(self, key: str, limit: Limit, cost: int = 1) -> Decision:
        """Admit and consume `cost` cells, or deny and consume nothing."""
        _check_cost(limit, cost)
        return self._run(key, limit, cost)

    async def peek(self, key: str, limit: Limit) -> Decision:
        """What a cost-1 request would get now, without consuming anything."""
        return self._run(key, limit, 0)

    def _run(self, key: str, limit: Limit, cost: int) -> Decision:
        # A line-by-line port of ratelimit.lua; the shared tests run against both.
        now = _now_ms(self._clock)
        count, period, tau = limit.count, limit.period_ms, limit.burst * limit.period_ms
        ahead = 0
        stored = self._buckets.get(key)
        if stored is not None:
            ms, rem, written_count = stored
            if written_count != count:
                ms, rem = ms + (1 if rem > 0 else 0), 0
            if ms >= now:
                ahead = (ms - now) * count + rem
            else:
                # Full again: the same as no bucket, like a Redis key whose PX has run out.
                del self._buckets[key]

        def admissible(units: int) -> int:
            return max(0, (tau - units) // period)

        if cost == 0:
            retry = ahead + period - tau
            if retry <= 0:
                return _decision(limit, 1, admissible(ahead), 0, ahead)
            return _decision(limit, 0, 0, retry, ahead)

        new_ahead = ahead + cost * period
        if new_ahead > tau:
            return _decision(limit, 0, admissible(ahead), new_ahead - tau, ahead)
        self._buckets[key] = (now + new_ahead // count, new_ahead % count, count)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return _decision(limit, 1, admissible(new_ahead), 0, new_ahead)
