"""Each relying party's own limits at `/token` and `/userinfo` (spec §9.4), applied once the client is known: at
`/token` after Authlib has authenticated it (so nobody can spend another client's share by naming it), at
`/userinfo` from the access token's record. The gateway's per-address limits come first; these keep one client's
runaway loop from taking the capacity every other client shares. One GCRA bucket per client and endpoint, in
Redis (`gaap.ratelimit`), failing closed like identity's other limits: Redis away is a 503.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from redis.asyncio import Redis

from gaap.ratelimit import GcraLimiter, Limit, RateLimiterUnavailable
from services.identity.settings import IdentitySettings

TOKEN, USERINFO = "token", "userinfo"


@dataclass(frozen=True)
class Refusal:
    """What to answer instead (in OAuth's error format: `temporarily_unavailable`, as the gateway's own 429)."""

    status: int
    description: str
    headers: dict[str, str] = field(default_factory=dict)


def _per_minute(count: int) -> Limit:
    return Limit(count, 60, max(1, count // 10))


class ClientLimits:
    def __init__(self, redis: Redis, settings: IdentitySettings) -> None:
        self.limiter = GcraLimiter(redis, prefix="gaap:identity:rl:", cooldown=1.0)
        self.limits = {
            TOKEN: _per_minute(settings.token_rate_per_client_per_minute),
            USERINFO: _per_minute(settings.userinfo_rate_per_client_per_minute),
        }

    async def refused(self, endpoint: str, client_id: str) -> Refusal | None:
        """None when `client_id` may call `endpoint` now; else a 429 with `Retry-After`, or a 503."""
        try:
            decision = await self.limiter.check(f"{endpoint}:{client_id}", self.limits[endpoint])
        except RateLimiterUnavailable:
            return Refusal(503, "The service is temporarily unavailable")
        if decision.allowed:
            return None
        retry_after = str(max(1, math.ceil(decision.retry_after)))
        return Refusal(429, "Too many requests, try again later", {"Retry-After": retry_after})
