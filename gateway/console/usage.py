"""A service's usage in the console, and the sign-in activity of its relying parties.

Each component owns its numbers and reports them for one service at a time on its internal API
(`GET /internal/services/{id}/usage`, identity's `…/sign-ins`), as per-day aggregates it counts in its own
database; the console asks all three at once, as the gateway acting for the service (`upstream.ServiceApi` with
the internal scope, as the tenant pushes are signed), and draws them: a bar chart per measure, server-rendered SVG
with a table of the same numbers as its accessible equivalent. A component that cannot answer leaves its section
saying so, and the rest of the page is still shown. The per-minute allowance is the gateway's own (its GCRA buckets,
read without taking from them). Any team member of the service may see both pages: they hold counts, amounts and
levels, no one's personal data (a sign-in shows only the first characters of the `sub` its client received).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gaap.context import current_request_id
from gaap.db.deps import ReadSession
from gaap.internal import INTERNAL_SCOPE
from gaap.pages import PageError
from gaap.principal import Principal
from gateway.auth.credentials import ServiceEntry
from gateway.console.access import ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.notify import render
from gateway.console.pay import pounds
from gateway.console.texts import (
    CHANNEL_NAMES,
    DAILY_LIMIT_NAMES,
    NOTIFY_KEY_TYPES,
    PAY_MODES,
    PAYMENT_STATES,
    PROVING_OUTCOMES,
    SIGN_IN_LEVELS,
    USAGE_PERIODS,
    when_iso,
)
from gateway.console.upstream import ServiceApi

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}", route_class=ConsoleRoute, include_in_schema=False)
MESSAGE_GROUPS = ("sending", "delivered", "failed", "cancelled")
#: How many sign-ins the activity page lists, newest first.
SIGN_INS_SHOWN = "50"


def internal_api(request: Request, access: ServiceAccess, component: str) -> ServiceApi:
    """The component's internal API, as the gateway acting for the service (no key type: no API key acts)."""
    return ServiceApi(request, access, component, None, frozenset({INTERNAL_SCOPE}))


async def _read(api: ServiceApi, path: str, params: dict[str, str]) -> dict[str, Any] | None:
    """The component's answer, or None when it cannot give one (its section says so; the page goes on)."""
    try:
        answer = await api.call("GET", path, params=params)
    except PageError:
        return None
    return answer.body if answer.ok and isinstance(answer.body, dict) else None


@dataclass(frozen=True)
class Bar:
    day: str
    value: int
    x: float
    height: float


@dataclass(frozen=True)
class Chart:
    """A bar per day, drawn in a 100-high box; `peak` is the tallest bar's value (at least 1)."""

    bars: list[Bar]
    width: int
    peak: int
    peak_day: str | None

    @classmethod
    def of(cls, values: list[tuple[str, int]]) -> Chart:
        step, gap = 10, 2
        peak = max([v for _, v in values] + [1])
        bars = [Bar(day, value, i * step + gap / 2, 100 * value / peak) for i, (day, value) in enumerate(values)]
        busiest = max(values, key=lambda dv: dv[1], default=None)
        return cls(bars, len(values) * step, peak, busiest[0] if busiest and busiest[1] else None)


def _messages(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    by_channel = {c: dict.fromkeys(MESSAGE_GROUPS, 0) for c in CHANNEL_NAMES}
    days = []
    for day in body["days"]:
        counts = {c: sum(day[c].values()) for c in CHANNEL_NAMES}
        for channel in CHANNEL_NAMES:
            for group in MESSAGE_GROUPS:
                by_channel[channel][group] += day[channel][group]
        days.append({"date": day["date"], **counts, "total": sum(counts.values())})
    totals = {c: sum(groups.values()) for c, groups in by_channel.items()}
    return {
        "by_channel": by_channel,
        "totals": totals,
        "total": sum(totals.values()),
        "days": days,
        "chart": Chart.of([(d["date"], d["total"]) for d in days]),
        "today": body.get("today"),
    }


def _payments(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    by_state = {state: {"count": 0, "amount": 0} for state in PAYMENT_STATES}
    refunded = {"count": 0, "amount": 0}
    days = []
    for day in body["days"]:
        for state, tally in day["payments"].items():
            by_state[state]["count"] += tally["count"]
            by_state[state]["amount"] += tally["amount"]
        refunds = day["refunds"]["success"]
        refunded["count"] += refunds["count"]
        refunded["amount"] += refunds["amount"]
        success = day["payments"]["success"]
        days.append(
            {
                "date": day["date"],
                "count": sum(t["count"] for t in day["payments"].values()),
                "succeeded": success["count"],
                "collected": pounds(success["amount"]),
                "refunded": pounds(refunds["amount"]),
            }
        )
    return {
        "by_state": [(state, tally["count"], pounds(tally["amount"])) for state, tally in by_state.items()],
        "total": sum(t["count"] for t in by_state.values()),
        "collected": pounds(by_state["success"]["amount"]),
        "refunded": (refunded["count"], pounds(refunded["amount"])),
        "days": days,
        "chart": Chart.of([(d["date"], d["count"]) for d in days]),
    }


def _sign_ins(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    levels: dict[str, int] = dict.fromkeys(SIGN_IN_LEVELS, 0)
    proving = dict.fromkeys(PROVING_OUTCOMES, 0)
    days = []
    for day in body["days"]:
        for level, count in day["levels"].items():
            levels[level] = levels.get(level, 0) + count
        for outcome, count in day["proving"].items():
            proving[outcome] += count
        days.append({"date": day["date"], "levels": day["levels"], "total": sum(day["levels"].values())})
    return {
        "levels": levels,
        "proving": proving,
        "total": sum(levels.values()),
        "days": days,
        "chart": Chart.of([(d["date"], d["total"]) for d in days]),
    }


def _daily_limits(today: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """Today's daily limits by channel: limit, used (None when notify cannot read its counters) and remaining."""
    if today is None:
        return None
    rows = []
    for channel in DAILY_LIMIT_NAMES:
        found = today["daily_limits"].get(channel)
        if found is None:
            continue
        used = found["used"]
        remaining = None if used is None else max(found["limit"] - used, 0)
        rows.append({"channel": channel, "limit": found["limit"], "used": used, "remaining": remaining})
    return rows


async def _per_minute(request: Request, access: ServiceAccess) -> list[dict[str, Any]] | None:
    """The service's Notify per-minute allowance by key type, as the gateway's buckets hold it now (None when the
    rate limiter cannot be read)."""
    service = access.service
    entry = ServiceEntry(
        id=service.id,
        organisation_id=service.organisation_id,
        active=service.active,
        restricted=service.restricted,
        rate_limit=service.rate_limit,
        pay_rate_tier=service.pay_rate_tier,
        notify_keys=(),
    )
    policies = request.app.state.front.state.policies
    rows = []
    for key_type in NOTIFY_KEY_TYPES:
        principal = Principal(request_id=current_request_id(), service_id=str(service.id), key_type=key_type)
        bucket = await policies.notify_bucket(principal, entry)
        if bucket is None:
            return None
        rows.append({"key_type": key_type, **bucket})
    return rows


def _period(days: int) -> int:
    return days if days in USAGE_PERIODS else 7


@router.get("/usage", response_class=HTMLResponse)
async def usage_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    days: Annotated[int, Query()] = 7,
    mode: Annotated[str, Query()] = "live",
) -> HTMLResponse:
    """The service's usage over the last 7 or 30 days, day by day, and its rate-limit headroom today."""
    access = await service_access(session, admin, service_id)
    period = _period(days)
    mode = mode if mode in PAY_MODES else "live"
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=period - 1)).isoformat(), "to": today.isoformat()}
    path = f"/internal/services/{service_id}/usage"
    notify, pay, identity, per_minute = await asyncio.gather(
        _read(internal_api(request, access, "notify"), path, span),
        _read(internal_api(request, access, "pay"), path, {**span, "mode": mode}),
        _read(internal_api(request, access, "identity"), path, span),
        _per_minute(request, access),
    )
    messages = _messages(notify)
    context = {
        "admin": admin,
        "access": access,
        "filters": {"days": str(period), "mode": mode},
        "periods": {str(n): name for n, name in USAGE_PERIODS.items()},
        "modes": PAY_MODES,
        "span": span,
        "today": today.isoformat(),
        "messages": messages,
        "daily_limits": _daily_limits(messages["today"]) if messages else None,
        "per_minute": per_minute,
        "payments": _payments(pay),
        "sign_ins": _sign_ins(identity),
        "channels": CHANNEL_NAMES,
        "limit_names": DAILY_LIMIT_NAMES,
        "key_types": NOTIFY_KEY_TYPES,
        "states": PAYMENT_STATES,
        "levels": SIGN_IN_LEVELS,
        "outcomes": PROVING_OUTCOMES,
    }
    return render(request, "console/usage.html", context)


def _client_names(access: ServiceAccess) -> dict[str, str]:
    """The service's OIDC clients' names by client id, as the console stores their records."""
    clients = ((access.service.settings or {}).get("identity") or {}).get("clients") or []
    return {
        str(c.get("ClientID")): str(c.get("ClientName") or c.get("ClientID")) for c in clients if isinstance(c, dict)
    }


@router.get("/sign-ins", response_class=HTMLResponse)
async def sign_ins_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The newest sign-ins to the service's relying parties: when, which client, the level reached and whether
    identity proving happened, with the first characters of the `sub` the client received."""
    access = await service_access(session, admin, service_id)
    api = internal_api(request, access, "identity")
    body = await _read(api, f"/internal/services/{service_id}/sign-ins", {"limit": SIGN_INS_SHOWN})
    names = _client_names(access)
    rows = None
    if body is not None:
        rows = [
            {
                "time": when_iso(s["time"]),
                "client": names.get(s["client_id"], s["client_id"]),
                "client_id": s["client_id"],
                "level": s["level"],
                "proving": s["proving"],
                "subject_hint": s["subject_hint"],
            }
            for s in body["sign_ins"]
        ]
    context = {"admin": admin, "access": access, "rows": rows, "levels": SIGN_IN_LEVELS, "outcomes": PROVING_OUTCOMES}
    return render(request, "console/usage_sign_ins.html", context)
