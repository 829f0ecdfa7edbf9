"""Developer inbox endpoints: a Notify key reads back the emails and texts its own service sent, as the development
doubles received them. New paths, so errors use the platform envelope (notify spec §1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from gaap.app import family_route
from gaap.db.deps import ReadSession
from gaap.embedded.inbox import EmailSummary, TextMessage
from services.notify.auth import NotifyCaller
from services.notify.errors import ValidationError
from services.notify.formats import iso
from services.notify.inbox import service as inbox
from services.notify.validation import parse_uuid

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ValidationError: a bad `limit` or `older_than`"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError"},
    404: {"description": "NoDeveloperInbox (not development mode, or no double configured), or NotFound"},
    429: {"description": "RateLimitError"},
    503: {"description": "ServiceUnavailable: the service's settings have not reached notify yet"},
}
router = APIRouter(tags=["developer inbox"], route_class=family_route("platform"), responses=ERRORS)

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


def _maildir(request: Request) -> Path:
    return inbox.maildir(request.app.state.settings)


def _sms_store(request: Request) -> Path:
    return inbox.sms_store(request.app.state.settings)


#: The SMTP sink's Maildir; 404 `NoDeveloperInbox` when there is none.
EmailInbox = Annotated[Path, Depends(_maildir)]
#: The fake SMS provider's store; 404 `NoDeveloperInbox` when there is none.
TextInbox = Annotated[Path, Depends(_sms_store)]

Limit = Annotated[str | None, Query(description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).")]
To = Annotated[str | None, Query(description="Only messages to this recipient (any spelling of a phone number).")]
OlderThan = Annotated[
    str | None, Query(description="A notification id from the previous page: only messages received before it.")
]


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _links(request: Request, path: str, page: list[tuple[uuid.UUID, Any]], limit: int) -> dict[str, str]:
    """Absolute links from the public origin, as notify's own lists give them; `next` only after a full page."""
    base = f"{request.app.state.settings.public_root}{path}"
    pairs = list(request.query_params.multi_items())
    links = {"current": base + (f"?{urlencode(pairs)}" if pairs else "")}
    if len(page) == limit:
        kept = [(key, value) for key, value in pairs if key != "older_than"]
        links["next"] = f"{base}?{urlencode([*kept, ('older_than', str(page[-1][0]))])}"
    return links


def _email_json(notification_id: uuid.UUID, email: EmailSummary) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in email.headers:
        headers.setdefault(name, value)
    return {
        "id": str(notification_id),
        "message_id": email.message_id,
        "from": email.sender,
        "to": ", ".join(email.to or email.envelope_to),
        "subject": email.subject,
        "received_at": iso(email.received_at),
        "text": email.text_body,
        "html": email.html_body,
        "headers": headers,
    }


def _text_json(notification_id: uuid.UUID, text: TextMessage) -> dict[str, Any]:
    return {
        "id": str(notification_id),
        "to": text.to,
        "sender": text.sender,
        "content": text.content,
        "provider": text.provider,
        "received_at": iso(datetime.fromisoformat(text.created_at)),
        "status": text.status,
    }


@router.get("/v2/inbox/emails")
async def list_emails(
    request: Request,
    caller: NotifyCaller,
    maildir: EmailInbox,
    session: ReadSession,
    limit: Limit = None,
    to: To = None,
    older_than: OlderThan = None,
) -> dict[str, Any]:
    """The emails of the caller's service that reached the development SMTP sink, newest first."""
    size = _limit(limit)
    page = await inbox.emails(
        session,
        caller.service.id,
        maildir,
        request.app.state.settings.email_domain,
        limit=size,
        to=(to or "").strip() or None,
        older_than=parse_uuid(older_than, "older_than") if older_than else None,
    )
    return {
        "emails": [_email_json(nid, email) for nid, email in page],
        "links": _links(request, "v2/inbox/emails", page, size),
    }


@router.get("/v2/inbox/emails/{message_id}")
async def get_email(
    message_id: str, request: Request, caller: NotifyCaller, maildir: EmailInbox, session: ReadSession
) -> dict[str, Any]:
    """One email of the caller's service, by notification id or by its whole `Message-ID`."""
    domain = request.app.state.settings.email_domain
    notification_id = inbox.requested_notification_id(message_id, domain)
    if notification_id is None:
        raise inbox.EmailNotInInbox()
    found = await inbox.email(session, caller.service.id, maildir, domain, notification_id)
    return _email_json(notification_id, found)


@router.get("/v2/inbox/texts")
async def list_texts(
    request: Request,
    caller: NotifyCaller,
    store: TextInbox,
    session: ReadSession,
    limit: Limit = None,
    to: To = None,
    older_than: OlderThan = None,
) -> dict[str, Any]:
    """The text messages of the caller's service that reached the fake SMS provider, newest first."""
    size = _limit(limit)
    page = await inbox.texts(
        session,
        caller.service.id,
        store,
        limit=size,
        to=(to or "").strip() or None,
        older_than=parse_uuid(older_than, "older_than") if older_than else None,
    )
    return {
        "texts": [_text_json(nid, text) for nid, text in page],
        "links": _links(request, "v2/inbox/texts", page, size),
    }
