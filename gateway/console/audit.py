"""The audit log in the console: a searchable, paged view of admin actions, each with its hash, and the check that
the whole hash chain verifies (`gateway.audit.service.verify`, as `gaap audit verify` runs it).

Platform operators see every entry (`/console/audit`, filterable by service too); a service's admins see their
service's entries (`/console/services/{id}/audit`). Search is by actor (any part of it), action, and a date range;
pages go by the entries' sequence numbers, so a new entry never shifts what "older" means. Each entry's own hash is
recomputed on the page (an altered row is marked); verifying the whole chain reads every entry, so it runs when
asked for rather than on every view.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.deps import ReadSession
from gaap.pages import PageError, Pages
from gateway.audit import service as audit
from gateway.audit.models import AuditEvent
from gateway.console import repository as repo
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.texts import AUDIT_DATE_ERRORS, CHAIN_REASONS, when

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
ROLE = "admin"
#: How many characters of a hash the list shows (the entry's page shows it whole).
SHORT_HASH = 12
MAX_QUERY = 320
#: An entry's number, as a path parameter: within the column's range, so the database is never asked beyond it.
Seq = Annotated[int, Path(ge=1, le=2**63 - 1)]


@dataclass(frozen=True)
class Search:
    """A search as asked for (shown back in the form) and as it applies to the log."""

    actor: str
    action: str
    service: str
    since_text: str
    until_text: str
    since: datetime | None
    until: datetime | None
    errors: dict[str, str]

    def filters(self) -> dict[str, str]:
        """The search as query parameters, for paging links."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "service": self.service,
            "from": self.since_text,
            "to": self.until_text,
        }
        return {key: value for key, value in values.items() if value}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _search(request: Request, services: dict[str, str] | None) -> Search:
    query = request.query_params
    since_text, until_text = query.get("from", "").strip(), query.get("to", "").strip()
    since_day, until_day = _day(since_text), _day(until_text)
    errors = {}
    if since_text and since_day is None:
        errors["since"] = AUDIT_DATE_ERRORS["since"]
    if until_text and until_day is None:
        errors["until"] = AUDIT_DATE_ERRORS["until"]
    service = query.get("service", "")
    return Search(
        actor=query.get("actor", "").strip()[:MAX_QUERY],
        action=query.get("action", "")[:64],
        service=service if services is not None and service in services else "",
        since_text=since_text,
        until_text=until_text,
        since=datetime.combine(since_day, time(), UTC) if since_day else None,
        # The whole of the "to" day is in the range.
        until=datetime.combine(until_day + timedelta(days=1), time(), UTC) if until_day else None,
        errors=errors,
    )


def _cursor(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _row(event: AuditEvent, services: dict[str, str]) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "when": when(event.occurred_at),
        "actor": event.actor,
        "action": event.action,
        "target": f"{event.target_type} {event.target_id}",
        "service": services.get(event.service_id or "", event.service_id or ""),
        "hash": event.hash[:SHORT_HASH],
        "intact": audit.hash_matches(event),
    }


async def _page(
    request: Request,
    session: AsyncSession,
    admin: Admin,
    *,
    base: str,
    service_id: str | None,
    services: dict[str, str],
    access: ServiceAccess | None,
    platform: bool,
) -> HTMLResponse:
    search = _search(request, services if platform else None)
    scope = service_id or search.service or None
    criteria: dict[str, Any] = {
        "service_id": scope,
        "action": search.action or None,
        "actor_contains": search.actor or None,
        "since": search.since,
        "until": search.until,
    }
    events: list[AuditEvent] = []
    newer = older = False
    if not search.errors:
        after, before = _cursor(request, "after"), _cursor(request, "before")
        events = await audit.search(session, **criteria, after_seq=after, before_seq=before, limit=PAGE_SIZE)
        if events:
            newer = bool(await audit.search(session, **criteria, after_seq=events[0].seq, limit=1))
            older = bool(await audit.search(session, **criteria, before_seq=events[-1].seq, limit=1))
    filters = search.filters()
    report = await audit.verify(session) if request.query_params.get("verify") == "1" else None
    reason = ""
    if report is not None and not report.ok:
        missing = report.reason.endswith("is missing")
        reason = CHAIN_REASONS["is missing"] if missing else CHAIN_REASONS.get(report.reason, report.reason)
    context = {
        "admin": admin,
        "nav": "audit" if platform else "services",
        "access": access,
        "platform": platform,
        "base": base,
        "search": search,
        "errors": search.errors,
        "has_errors": bool(search.errors),
        "actions": await audit.actions(session, service_id=service_id),
        "services": services if platform else {},
        "rows": [_row(event, services) for event in events],
        "newer_url": f"{base}?{urlencode({**filters, 'after': events[0].seq})}" if newer else None,
        "older_url": f"{base}?{urlencode({**filters, 'before': events[-1].seq})}" if older else None,
        "verify_url": f"{base}?{urlencode({**filters, 'verify': '1'})}",
        "filters": filters,
        "report": report,
        "reason": reason,
    }
    pages: Pages = request.app.state.pages
    return pages.render(request, "console/audit.html", context, 400 if search.errors else 200)


async def _service_names(session: AsyncSession) -> dict[str, str]:
    return {str(s.id): f"{o.name}: {s.name}" for s, o in await repo.every_service(session)}


def _require_operator(admin: Admin) -> None:
    if not admin.operator:
        raise PageError(status_code=403)


@router.get("/audit", response_class=HTMLResponse)
async def platform_audit_page(request: Request, admin: SignedInAdmin, session: ReadSession) -> HTMLResponse:
    """Every admin action on the platform, newest first (platform operators)."""
    _require_operator(admin)
    services = await _service_names(session)
    return await _page(
        request, session, admin, base="/console/audit", service_id=None, services=services, access=None, platform=True
    )


@router.get("/services/{service_id}/audit", response_class=HTMLResponse)
async def service_audit_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The admin actions on one service, newest first (the service's admins)."""
    access = await service_access(session, admin, service_id)
    access.require(ROLE)
    services = {str(service_id): access.service.name}
    base = f"/console/services/{service_id}/audit"
    return await _page(
        request, session, admin, base=base, service_id=str(service_id), services=services, access=access, platform=False
    )


def _entry_page(request: Request, admin: Admin, event: AuditEvent | None, context: dict[str, Any]) -> HTMLResponse:
    if event is None:
        raise PageError(status_code=404)
    pages: Pages = request.app.state.pages
    entry = {
        "seq": event.seq,
        "id": str(event.id),
        "when": when(event.occurred_at),
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "organisation_id": event.organisation_id or "",
        "service_id": event.service_id or "",
        "details": event.details,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "intact": audit.hash_matches(event),
    }
    return pages.render(request, "console/audit_entry.html", {"admin": admin, "entry": entry, **context})


@router.get("/audit/{seq}", response_class=HTMLResponse)
async def platform_audit_entry(request: Request, seq: Seq, admin: SignedInAdmin, session: ReadSession) -> HTMLResponse:
    """One entry, whole: its details, its hash and the hash it links to (platform operators)."""
    _require_operator(admin)
    event = await session.get(AuditEvent, seq)
    context = {"nav": "audit", "access": None, "back": "/console/audit"}
    return _entry_page(request, admin, event, context)


@router.get("/services/{service_id}/audit/{seq}", response_class=HTMLResponse)
async def service_audit_entry(
    request: Request, service_id: uuid.UUID, seq: Seq, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """One entry of the service, whole (the service's admins)."""
    access = await service_access(session, admin, service_id)
    access.require(ROLE)
    event = await session.get(AuditEvent, seq)
    if event is not None and event.service_id != str(service_id):
        event = None
    context = {"nav": "services", "access": access, "back": f"/console/services/{service_id}/audit"}
    return _entry_page(request, admin, event, context)
