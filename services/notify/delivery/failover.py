"""SMS provider failover (notify spec §16.4): which provider a text goes to, and how errors move traffic away.

Every send picks a provider by weighted random choice. The weights live in Redis, so every worker process sees
the same ones and a change made by one is followed by all at their next send:

- **Shift on errors.** Each failed hand-over is recorded in a per-provider sliding window (a sorted set of the
  last 60 s). When a provider has more than 50 errors in the window, 10 points move from it to the other
  provider (the healthiest other one, were there more than two), each weight bounded 0–100, unless the weights
  changed in the last minute. Window and shift are one Lua script, so two workers seeing the 51st error at once
  move the weights once.
- **Return to resting.** Every 5 minutes, if the weights have not changed for 15 minutes, each moves 10 points
  back towards its resting weight (`NOTIFY_SMS_PROVIDERS`, e.g. `mmg:51,firetext:49`).

Redis holds nothing that cannot be lost: without the hash every provider is at its resting weight, and if
Redis cannot be reached a send uses the resting weights and an error goes unrecorded (texts keep flowing;
only the shift waits for Redis). Times come from the caller's clock, so tests can run minutes in a moment.
GOV.UK also moves weight away from a provider whose receipts are slow; that rule is not built here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gaap.logging import get_logger

log = get_logger("notify.delivery.failover")

WEIGHTS_KEY = "gaap:notify:sms:weights"
ERRORS_KEY = "gaap:notify:sms:errors:{provider}"
#: The hash field holding when the weights last changed (ms since the epoch); provider names cannot contain `@`.
CHANGED_AT = "@changed_at"


@dataclass(frozen=True)
class FailoverRules:
    """§16.4's numbers, in one place."""

    window: timedelta = timedelta(seconds=60)
    #: More than this many errors within `window` shifts weight away.
    max_errors: int = 50
    step: int = 10
    #: No shift within this long of the last change.
    cooldown: timedelta = timedelta(minutes=1)
    #: The return to resting weights waits for this long without a change.
    quiet: timedelta = timedelta(minutes=15)
    #: How often the return to resting weights runs (the worker's cron).
    rest_every: timedelta = timedelta(minutes=5)


# KEYS: the provider's error window, the weights hash.
# ARGV: now (ms), window (ms), a unique member, max errors, step, cooldown (ms), the failing provider, then
#       name, resting weight pairs for every configured provider.
# Returns {errors in the window, points moved}.
_RECORD_ERROR = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
local errors = redis.call('ZCARD', KEYS[1])
if errors <= tonumber(ARGV[4]) then return {errors, 0} end
local changed = tonumber(redis.call('HGET', KEYS[2], '@changed_at') or '')
if changed and now - changed < tonumber(ARGV[6]) then return {errors, 0} end
local failing = ARGV[7]
local names, weights = {}, {}
for i = 8, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
  weights[ARGV[i]] = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or ARGV[i + 1])
end
if not weights[failing] then return {errors, 0} end
local other = nil
for _, name in ipairs(names) do
  if name ~= failing and (other == nil or weights[name] > weights[other]) then other = name end
end
if other == nil then return {errors, 0} end
local moved = math.min(tonumber(ARGV[5]), weights[failing], 100 - weights[other])
if moved <= 0 then return {errors, 0} end
weights[failing] = weights[failing] - moved
weights[other] = weights[other] + moved
for _, name in ipairs(names) do redis.call('HSET', KEYS[2], name, weights[name]) end
redis.call('HSET', KEYS[2], '@changed_at', ARGV[1])
return {errors, moved}
"""

# KEYS: the weights hash. ARGV: now (ms), quiet (ms), step, then name, resting weight pairs.
# Returns the points moved in all.
_RETURN_TO_RESTING = """
local now = tonumber(ARGV[1])
local changed = tonumber(redis.call('HGET', KEYS[1], '@changed_at') or '')
if not changed or now - changed < tonumber(ARGV[2]) then return 0 end
local step = tonumber(ARGV[3])
local moved = 0
for i = 4, #ARGV, 2 do
  local resting = tonumber(ARGV[i + 1])
  local weight = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or ARGV[i + 1])
  local delta = math.max(-step, math.min(step, resting - weight))
  if delta ~= 0 then
    redis.call('HSET', KEYS[1], ARGV[i], weight + delta)
    moved = moved + math.abs(delta)
  end
end
if moved > 0 then redis.call('HSET', KEYS[1], '@changed_at', ARGV[1]) end
return moved
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def choose(weights: Mapping[str, int], candidates: Collection[str], rng: random.Random | None = None) -> str:
    """One of `candidates` by weighted random choice; evenly among them if every weight is 0."""
    names = sorted(candidates)
    if not names:
        raise ValueError("no provider to choose from")
    points = [max(0, weights.get(name, 0)) for name in names]
    pick = (rng or random).choices
    return pick(names, weights=points)[0] if sum(points) else pick(names)[0]


class ProviderWeights:
    """The SMS providers' current weights and error windows, in Redis, shared by every notify worker."""

    def __init__(self, redis: Redis, resting: Mapping[str, int], rules: FailoverRules | None = None) -> None:
        self.redis = redis
        self.resting = dict(resting)
        self.rules = rules or FailoverRules()
        self._record_error = redis.register_script(_RECORD_ERROR)
        self._return_to_resting = redis.register_script(_RETURN_TO_RESTING)

    def _pairs(self) -> list[Any]:
        return [item for name, weight in self.resting.items() for item in (name, weight)]

    async def current(self) -> dict[str, int]:
        """Each configured provider's weight now; the resting weights where Redis has none or cannot answer."""
        try:
            stored = await self.redis.hgetall(WEIGHTS_KEY)  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            log.warning("notify.sms.weights_unavailable", error=repr(exc))
            return dict(self.resting)
        found = {key.decode(): int(value) for key, value in stored.items() if key != CHANGED_AT.encode()}
        return {name: found.get(name, resting) for name, resting in self.resting.items()}

    async def record_error(self, provider: str, now: datetime) -> int:
        """Count one failed hand-over to `provider`; the points moved away from it as a result (usually 0)."""
        rules = self.rules
        keys = [ERRORS_KEY.format(provider=provider), WEIGHTS_KEY]
        args = [
            _ms(now),
            int(rules.window.total_seconds() * 1000),
            f"{_ms(now)}:{uuid.uuid4().hex}",
            rules.max_errors,
            rules.step,
            int(rules.cooldown.total_seconds() * 1000),
            provider,
            *self._pairs(),
        ]
        try:
            errors, moved = await self._record_error(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("notify.sms.error_not_recorded", provider=provider, error=repr(exc))
            return 0
        if moved:
            log.warning("notify.sms.weights_shifted", provider=provider, errors=errors, points=moved)
        return int(moved)

    async def return_to_resting(self, now: datetime) -> int:
        """§16.4's periodic step back towards the resting weights; the points moved in all."""
        rules = self.rules
        args = [_ms(now), int(rules.quiet.total_seconds() * 1000), rules.step, *self._pairs()]
        moved = int(await self._return_to_resting(keys=[WEIGHTS_KEY], args=args))
        if moved:
            log.info("notify.sms.weights_resting", points=moved, weights=await self.current())
        return moved

    async def set(self, weights: Mapping[str, int], now: datetime) -> None:
        """Set the weights by hand (an operator's override, or a test), as a change made at `now`."""
        unknown = set(weights) - set(self.resting)
        if unknown or not all(0 <= w <= 100 for w in weights.values()):
            raise ValueError("weights are 0 to 100, for configured providers only")
        await self.redis.hset(WEIGHTS_KEY, mapping={**weights, CHANGED_AT: _ms(now)})  # type: ignore[misc]

    async def reset(self) -> None:
        """Back to the resting weights, with no errors counted."""
        await self.redis.delete(WEIGHTS_KEY, *(ERRORS_KEY.format(provider=name) for name in self.resting))
