"""Which bucket a request draws from, and what to do when Redis is down (ARCHITECTURE, gateway rate limits).

- Notify: the send POSTs draw from one bucket per (service, key type): `rate_limit` per 60 s, burst
  `min(ceil(rate_limit / 3) + 1, 1000)` (notify spec §11.1). Redis down: fail open, with a log line and a metric.
- Pay: per account (service, mode) buckets for create, capture, other POSTs and each other method, by tier
  (pay spec §4.4). Redis down: each process falls back to its own limits (5 POST/s, 25 other/s).
- Paths without a key: per client address, with limits of their own for providers' receipts and for relying
  parties' `/token` and `/userinfo` calls (each the work of many citizens from a few servers). Redis down: notify
  fails open, pay falls back, identity fails closed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from gaap.principal import Principal
from gaap.ratelimit import Decision, GcraLimiter, Limit, LocalGcraLimiter, RateLimiterUnavailable
from gateway.auth.credentials import ServiceEntry
from gateway.routing import Auth, Route, is_oauth_back_channel, is_provider_webhook
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.limits")
LIMITER_DOWN = Counter(
    "gaap_gateway_ratelimit_unavailable_total",
    "Rate checks made while Redis was down",
    ["component", "policy"],
)

_NOTIFY_SENDS = re.compile(r"^/v2/notifications/(sms|email|letter|bulk)/?$")
_PAY_CAPTURE = re.compile(r"^/v1/payments/[^/]+/capture/?$")

#: pay spec §4.4: (create, capture, other POST, other methods) per second, or per 60 s for the low tier.
PAY_TIERS: dict[str, tuple[float, int, int]] = {
    # tier: (period seconds, POST count, non-POST count)
    "default": (1.0, 15, 75),
    "elevated": (1.0, 40, 100),
    "low": (60.0, 1, 4500),
}


class Unavailable(Exception):
    """The limiter cannot decide and the policy is to fail closed."""


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision | None
    #: Set on Notify sends: the key type name used in the 429 text.
    notify_key_type: str | None = None
    #: Whether to add RateLimit-* headers to the response (Notify sends).
    advertise: bool = False


def notify_limit(rate_limit: int) -> Limit:
    return Limit(count=rate_limit, period=60.0, burst=min(math.ceil(rate_limit / 3) + 1, 1000))


def notify_key_type_label(key_type: str) -> str:
    return {"normal": "LIVE", "team": "TEAM", "test": "TEST"}.get(key_type, key_type.upper())


class RatePolicies:
    def __init__(self, limiter: GcraLimiter, settings: GatewaySettings) -> None:
        self.limiter = limiter
        self.local = LocalGcraLimiter()
        self.anonymous = Limit(count=settings.anonymous_rate_per_minute, period=60.0, burst=settings.anonymous_burst)
        self.provider_webhooks = Limit(
            count=settings.provider_webhook_rate_per_minute, period=60.0, burst=settings.provider_webhook_burst
        )
        self.oauth_back_channel = Limit(
            count=settings.oauth_back_channel_rate_per_minute, period=60.0, burst=settings.oauth_back_channel_burst
        )
        self.pay_fallback_post = Limit(
            count=settings.pay_fallback_post_per_second,
            period=1.0,
            burst=settings.pay_fallback_post_per_second,
        )
        self.pay_fallback_other = Limit(
            count=settings.pay_fallback_other_per_second,
            period=1.0,
            burst=settings.pay_fallback_other_per_second,
        )

    async def check(
        self,
        route: Route,
        method: str,
        path: str,
        principal: Principal,
        service: ServiceEntry | None,
        client_ip: str,
    ) -> Outcome:
        if route.auth == Auth.notify_key:
            return await self._notify(method, path, principal, service)
        if route.auth == Auth.pay_key:
            return await self._pay(method, path, principal, service)
        if is_provider_webhook(path):
            return await self._anonymous(route, f"ip:notify-webhooks:{client_ip}", self.provider_webhooks)
        if route.component == "identity" and is_oauth_back_channel(path):
            return await self._anonymous(route, f"ip:identity-back-channel:{client_ip}", self.oauth_back_channel)
        return await self._anonymous(route, f"ip:{route.component}:{client_ip}", self.anonymous)

    async def _notify(self, method: str, path: str, principal: Principal, service: ServiceEntry | None) -> Outcome:
        if method != "POST" or service is None or not _NOTIFY_SENDS.match(path):
            return Outcome(None)
        key_type = principal.key_type or "normal"
        limit = notify_limit(service.rate_limit)
        try:
            decision = await self.limiter.check(f"notify:{service.id}:{key_type}", limit)
        except RateLimiterUnavailable:
            LIMITER_DOWN.labels("notify", "fail_open").inc()
            log.warning("rate limiter unavailable: failing open", policy="notify")
            return Outcome(None)
        return Outcome(decision, notify_key_type=notify_key_type_label(key_type), advertise=True)

    async def notify_bucket(self, principal: Principal, service: ServiceEntry) -> dict[str, int] | None:
        """The caller's per-minute bucket, unconsumed, for notify's `GET /v2/limits` (spec §18.7)."""
        key_type = principal.key_type or "normal"
        limit = notify_limit(service.rate_limit)
        try:
            decision = await self.limiter.peek(f"notify:{service.id}:{key_type}", limit)
        except RateLimiterUnavailable:
            return None
        return {
            "per_minute": limit.count,
            "burst": limit.burst,
            "remaining": decision.remaining,
            "reset_seconds": math.ceil(decision.reset_after),
        }

    async def _pay(self, method: str, path: str, principal: Principal, service: ServiceEntry | None) -> Outcome:
        tier = service.pay_rate_tier if service is not None else "default"
        period, post_count, other_count = PAY_TIERS.get(tier, PAY_TIERS["default"])
        account = f"{principal.service_id}:{principal.key_type}"
        if method == "POST":
            if path.rstrip("/") == "/v1/payments":
                bucket = "POST-create_payment"
            elif _PAY_CAPTURE.match(path):
                bucket = "POST-capture_payment"
            else:
                bucket = "POST"
            if tier == "low":
                bucket = "POST"  # the low tier shares one bucket between all POSTs
            limit = Limit(count=post_count, period=period, burst=post_count)
            fallback = self.pay_fallback_post
        else:
            bucket = method
            limit = Limit(count=other_count, period=period, burst=other_count)
            fallback = self.pay_fallback_other
        key = f"pay:{bucket}:{account}"
        try:
            return Outcome(await self.limiter.check(key, limit))
        except RateLimiterUnavailable:
            LIMITER_DOWN.labels("pay", "local_fallback").inc()
            return Outcome(await self.local.check(key, fallback))

    async def _anonymous(self, route: Route, key: str, limit: Limit) -> Outcome:
        try:
            return Outcome(await self.limiter.check(key, limit))
        except RateLimiterUnavailable:
            if route.component == "identity":
                LIMITER_DOWN.labels("identity", "fail_closed").inc()
                raise Unavailable() from None
            if route.component == "pay":
                LIMITER_DOWN.labels("pay", "local_fallback").inc()
                return Outcome(await self.local.check(key, limit))
            LIMITER_DOWN.labels(route.component, "fail_open").inc()
            return Outcome(None)
