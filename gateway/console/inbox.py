"""The developer inbox in the console: the emails and texts a service sent, as the development doubles received
them (the SMTP sink and the fake SMS provider).

Read from notify's developer inbox API (`/v2/inbox/...`) as the service (`upstream.notify_api`), like the other
Notify pages: notify decides which of the doubles' messages are the service's, and answers `NoDeveloperInbox`
outside development mode or without doubles, which this page turns into an explanation rather than an error.
An email is shown readably from its plain-text part; its HTML part is served on its own, under a sandboxing CSP
that lets it run nothing and fetch nothing from the console. Needs `send_messages`, `manage_templates` or `admin`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import ReadSession
from gaap.pages import PageError
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin
from gateway.console.notify import MANAGE, SEND, allowed, render
from gateway.console.texts import INBOX_CHANNELS, when_iso
from gateway.console.upstream import Answer, notify_api

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/inbox", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 25
NO_INBOX = "NoDeveloperInbox"
#: The email's own HTML may style itself and show images, and nothing else: no script, form, frame or request to
#: the console's origin (`sandbox` gives it an opaque origin).
EMAIL_HTML_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https: data:"
)


def _no_inbox(answer: Answer) -> bool:
    return answer.status == 404 and isinstance(answer.body, dict) and answer.body.get("error") == NO_INBOX


def _older_than(answer: Answer) -> str:
    """The cursor of notify's next page, from its `links.next` (absent after the last page)."""
    link = (answer.body.get("links") or {}).get("next") if isinstance(answer.body, dict) else None
    if not link:
        return ""
    return (parse_qs(urlsplit(str(link)).query).get("older_than") or [""])[0]


def _paragraphs(text: str | None) -> list[list[str]]:
    """A plain-text body as paragraphs of lines, for a page to set in type rather than as a block of code."""
    blocks = (text or "").replace("\r\n", "\n").split("\n\n")
    return [lines for block in blocks if (lines := [line for line in block.split("\n") if line.strip()])]


def _no_inbox_page(request: Request, admin: Admin, access: ServiceAccess) -> HTMLResponse:
    return render(request, "console/inbox.html", {"admin": admin, "access": access, "no_inbox": True})


@router.get("", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    channel: Annotated[str, Query()] = "",
    to: Annotated[str, Query()] = "",
    older_than: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """The newest emails or texts the service sent that the doubles received, filtered by recipient."""
    access = await allowed(session, admin, service_id, SEND, MANAGE)
    channel = channel if channel in INBOX_CHANNELS else "email"
    params = {"limit": str(PAGE_SIZE)}
    if to.strip():
        params["to"] = to.strip()[:320]
    try:
        params["older_than"] = str(uuid.UUID(older_than)) if older_than else ""
    except ValueError:
        params["older_than"] = ""
    path = "/v2/inbox/emails" if channel == "email" else "/v2/inbox/texts"
    answer = await notify_api(request, access).call("GET", path, params={k: v for k, v in params.items() if v})
    if _no_inbox(answer):
        return _no_inbox_page(request, admin, access)
    if not answer.ok:
        raise PageError(status_code=503)
    items = answer.body.get("emails" if channel == "email" else "texts", [])
    rows = [{**item, "received": when_iso(item.get("received_at"))} for item in items]
    next_cursor = _older_than(answer)
    filters = {"channel": channel, **({"to": params["to"]} if params.get("to") else {})}
    context = {
        "admin": admin,
        "access": access,
        "channel": channel,
        "channels": INBOX_CHANNELS,
        "to": to,
        "rows": rows,
        "filters": filters,
        "older_than": next_cursor,
        "paged": bool(params["older_than"]),
    }
    return render(request, "console/inbox.html", context)


async def _email(request: Request, access: ServiceAccess, notification_id: uuid.UUID) -> dict[str, Any] | None:
    """The email from notify; None when there is no developer inbox; the 404 page when it is not there."""
    answer = await notify_api(request, access).call("GET", f"/v2/inbox/emails/{notification_id}")
    if _no_inbox(answer):
        return None
    if answer.status == 404:
        raise PageError(status_code=404)
    if not answer.ok:
        raise PageError(status_code=503)
    email: dict[str, Any] = answer.body
    return email


@router.get("/emails/{notification_id}", response_class=HTMLResponse)
async def email_page(
    request: Request, service_id: uuid.UUID, notification_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """One email as its recipient would read it: who sent it, to whom, its subject and its text."""
    access = await allowed(session, admin, service_id, SEND, MANAGE)
    email = await _email(request, access, notification_id)
    if email is None:
        return _no_inbox_page(request, admin, access)
    context = {
        "admin": admin,
        "access": access,
        "email": email,
        "received": when_iso(email.get("received_at")),
        "paragraphs": _paragraphs(email.get("text")),
        "headers": sorted((email.get("headers") or {}).items()),
    }
    return render(request, "console/inbox_email.html", context)


@router.get("/emails/{notification_id}/html")
async def email_html(
    request: Request, service_id: uuid.UUID, notification_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> Response:
    """The email's HTML part, exactly as sent, sandboxed: it can neither run nor reach anything."""
    access = await allowed(session, admin, service_id, SEND, MANAGE)
    email = await _email(request, access, notification_id)
    if email is None:
        return _no_inbox_page(request, admin, access)
    if not email.get("html"):
        raise PageError(status_code=404)
    headers = {
        "Content-Security-Policy": EMAIL_HTML_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(str(email["html"]), headers=headers)
