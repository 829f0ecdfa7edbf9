"""`GET /v2/limits` (notify spec §18.7): what is left of today's limits, for the caller's key type.

The per-minute bucket is held by the gateway, which reads its state (without consuming) and passes it in the
`X-Gaap-Rate-Limit` header on this path; the daily counters are notify's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request

from gaap.app import family_route
from services.notify.auth import NotifyCaller
from services.notify.formats import iso
from services.notify.limits import counters

router = APIRouter(
    tags=["limits"],
    route_class=family_route("platform"),
    responses={401: {"description": "AuthError"}, 403: {"description": "AuthError"}},
)
CHANNELS = ("email", "sms", "letter", "international_sms")


@router.get("/v2/limits")
async def get_limits(request: Request, caller: NotifyCaller) -> dict[str, Any]:
    """Today's per-channel limits and what is left of them, and the caller's per-minute bucket."""
    now = datetime.now(UTC)
    resets = iso(counters.resets_at(now))
    counted = caller.key_type != "test"
    daily: dict[str, Any] = {}
    for channel in CHANNELS:
        limit = counters.limit_of(caller.service, channel)
        sent = (await request.app.state.counts.sent_today(caller.service, channel)) if counted else 0
        daily[channel] = {
            "limit": limit,
            "sent_today": sent,
            "remaining": None if sent is None else max(limit - sent, 0),
            "resets_at": resets,
        }
    bucket: dict[str, Any] | None = None
    raw = request.headers.get("x-gaap-rate-limit")
    if raw:
        state = orjson.loads(raw)
        bucket = {
            "per_minute": state["per_minute"],
            "burst": state["burst"],
            "remaining": state["remaining"],
            "resets_at": iso(now + timedelta(seconds=state["reset_seconds"])),
        }
    return {"key_type": caller.key_type, "counted_towards_daily_limits": counted, "rate_limit": bucket, "daily": daily}
