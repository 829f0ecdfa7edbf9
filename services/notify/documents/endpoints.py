"""The pages a recipient follows from an email to a file (notify spec §12), under `/d/<service>/<document>`, each
carrying the file's key as `?key=`:

- `/d/<s>/<d>`: who sent the file, and a button on;
- `/d/<s>/<d>/confirm-email-address`: when the sender asked for it, the recipient types the address the email went
  to (checked against an HMAC under the file's key; 50 tries per file per 5 minutes). A match sets a signed cookie
  for this file, good for an hour;
- `/d/<s>/<d>/download`: the file's type, size and last day, and the download link;
- `/d/<s>/<d>/file`: the file itself, always as an attachment.

A file past its retention period, or already purged, gets the "no longer available" page (410); a link that is
not one (bad ids, no key, a wrong key) the 404 page. No page needs JavaScript.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from babel.dates import format_date
from fastapi import APIRouter, Form, Request
from redis.exceptions import RedisError
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import ReadSession
from gaap.pages import CsrfProtected, PageError, PageRoute
from services.notify.documents import filetypes
from services.notify.documents import repository as repo
from services.notify.documents import service as documents
from services.notify.documents.models import Document
from services.notify.documents.pages import pages_of
from services.notify.recipients.email import InvalidEmailError, validate_email_address
from services.notify.records import Records

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: Confirmation attempts per file and window, across every client (the gateway limits each client besides).
MAX_ATTEMPTS, ATTEMPT_WINDOW_SECONDS = 50, 300
CONFIRMED_FOR_SECONDS = 3600
#: Pages that carry a file's key must not hand it to another site, nor be indexed.
PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
BASE = "/d/{service}/{document}"


@dataclass(frozen=True)
class Opened:
    document: Document
    key: bytes
    data: bytes
    service_name: str
    contact: str | None


async def _open(request: Request, session: ReadSession, service: str, document: str, key: str | None) -> Opened:
    """The file the link names, opened with its key; the 404 page for anything that is not a live link, the 410
    page for a file past its retention."""
    service_id, document_id = documents.uuid_from_b64(service), documents.uuid_from_b64(document)
    raw_key = documents.key_from_b64(key)
    if service_id is None or document_id is None or raw_key is None:
        raise PageError(status_code=404)
    row = await repo.get(session, service_id, document_id)
    name, contact = await _service(request, service_id)
    if row is None or documents.is_expired(row):
        raise _Unavailable(name, contact)
    data = documents.unseal(raw_key, row)
    if data is None:
        raise PageError(status_code=404)
    return Opened(row, raw_key, data, name, contact)


async def _service(request: Request, service_id: uuid.UUID) -> tuple[str, str | None]:
    records: Records = request.app.state.records
    record = await records.service(service_id)
    if record is None:
        return "", None
    return record.service.name, record.service.contact_link


class _Unavailable(Exception):
    def __init__(self, service_name: str, contact: str | None) -> None:
        super().__init__("file no longer available")
        self.service_name, self.contact = service_name, contact


def _contact(contact: str | None) -> dict[str, str] | None:
    """How the page says to get in touch: a link, an email address or a phone number (the service's setting)."""
    if not contact:
        return None
    if contact.startswith(("https://", "http://")):
        return {"kind": "link", "value": contact}
    if "@" in contact:
        return {"kind": "email", "value": contact}
    return {"kind": "phone", "value": contact}


def _url(request: Request, step: str, key: bytes | str) -> str:
    service, document = request.path_params["service"], request.path_params["document"]
    key_text = key if isinstance(key, str) else documents.b64_key(key)
    return f"/d/{service}/{document}{step}?key={quote(key_text, safe='')}"


def _render(request: Request, template: str, opened: Opened | None, status: int = 200, **context: object) -> Response:
    values = {"contact": _contact(opened.contact) if opened else None, **context}
    if opened is not None:
        values.setdefault("sender", opened.service_name)
    return pages_of(request).render(request, template, values, status, headers=PRIVATE)


async def _page(
    request: Request, session: ReadSession, key: str | None, *, confirmed: bool | None = None
) -> Opened | Response:
    """The file the link opens, or the page to answer instead: gone (410), or, for a page on one side of the email
    check (`confirmed`: the download pages need it passed, the check's own pages need it not yet passed), the step a
    browser on the other side belongs at."""
    try:
        opened = await _open(request, session, request.path_params["service"], request.path_params["document"], key)
    except _Unavailable as gone:
        values = {"contact": _contact(gone.contact), "sender": gone.service_name}
        return pages_of(request).render(request, "notify/documents/unavailable.html", values, 410, headers=PRIVATE)
    if confirmed is not None and _confirmed(request, opened.document) != confirmed:
        return RedirectResponse(_next_step(request, opened), status_code=303, headers=PRIVATE)
    return opened


def _next_step(request: Request, opened: Opened) -> str:
    """Where a browser goes on: the download once it has passed the email check, else the check."""
    step = "/download" if _confirmed(request, opened.document) else "/confirm-email-address"
    return _url(request, step, opened.key)


# --- confirmation cookie -------------------------------------------------------------------------------------


def _cookie_name(request: Request, document: Document) -> str:
    prefix = "__Host-" if pages_of(request).secure else ""
    return f"{prefix}gaap-file-{documents.b64_uuid(document.id)}"


def _signature(request: Request, document: Document, expires: int) -> str:
    key: bytes = request.app.state.document_confirmation_key
    return hmac.new(key, f"{document.id}:{expires}".encode(), "sha256").hexdigest()


def _confirmed(request: Request, document: Document) -> bool:
    if document.email_hash is None:
        return True
    value = request.cookies.get(_cookie_name(request, document), "")
    expires, _, signature = value.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature, _signature(request, document, int(expires)))


def _remember(request: Request, response: Response, document: Document) -> None:
    expires = int(time.time()) + CONFIRMED_FOR_SECONDS
    response.set_cookie(
        _cookie_name(request, document),
        f"{expires}.{_signature(request, document, expires)}",
        max_age=CONFIRMED_FOR_SECONDS,
        path="/",
        secure=pages_of(request).secure,
        httponly=True,
        samesite="lax",
    )


async def _attempts_left(request: Request, document: Document) -> bool:
    """Count one attempt for this file; False once the window's attempts are used. Without Redis the gateway's
    per-client limit still holds, so this fails open."""
    try:
        pipe = request.app.state.redis.pipeline(transaction=True)
        name = f"gaap:notify:documents:attempts:{document.id}"
        pipe.incr(name)
        pipe.expire(name, ATTEMPT_WINDOW_SECONDS, nx=True)
        count, _ = await pipe.execute()
    except (RedisError, OSError):
        return True
    return int(count) <= MAX_ATTEMPTS


# --- pages ---------------------------------------------------------------------------------------------------


@router.get(BASE)
async def landing(
    service: str, document: str, request: Request, session: ReadSession, key: str | None = None
) -> Response:
    """Who sent the file, and the way on."""
    opened = await _page(request, session, key)
    if isinstance(opened, Response):
        return opened
    return _render(request, "notify/documents/landing.html", opened, next_url=_next_step(request, opened))


@router.get(BASE + "/confirm-email-address")
async def confirm_form(
    service: str, document: str, request: Request, session: ReadSession, key: str | None = None
) -> Response:
    """The email address form, for files whose sender asked the recipient to confirm it."""
    opened = await _page(request, session, key, confirmed=False)
    if isinstance(opened, Response):
        return opened
    return _render(request, "notify/documents/confirm.html", opened, email="", error=None)


@router.post(BASE + "/confirm-email-address")
async def confirm(
    service: str,
    document: str,
    request: Request,
    session: ReadSession,
    _: CsrfProtected,
    key: str | None = None,
    email_address: Annotated[str, Form()] = "",
) -> Response:
    """Check the address; on a match, remember it for this file and go on to the download."""
    opened = await _page(request, session, key, confirmed=False)
    if isinstance(opened, Response):
        return opened
    if not await _attempts_left(request, opened.document):
        raise PageError(status_code=429)
    error = _address_error(opened, email_address)
    if error is not None:
        return _render(
            request, "notify/documents/confirm.html", opened, 400, email=email_address, error=error, has_errors=True
        )
    response = RedirectResponse(_url(request, "/download", opened.key), status_code=303, headers=PRIVATE)
    _remember(request, response, opened.document)
    return response


def _address_error(opened: Opened, typed: str) -> str | None:
    """The message id for what is wrong with the typed address, or None when it is the one the file went to."""
    if not typed.strip():
        return "Enter your email address"
    try:
        address = validate_email_address(typed)
    except InvalidEmailError:
        return "Enter an email address in the correct format, like name@example.com"
    if not documents.address_matches(opened.key, opened.document, address.normalised_to):
        return "This is not the email address the file was sent to"
    return None


@router.get(BASE + "/download")
async def download_page(
    service: str, document: str, request: Request, session: ReadSession, key: str | None = None
) -> Response:
    """The file's type, size and last day, and the link that downloads it."""
    opened = await _page(request, session, key, confirmed=True)
    if isinstance(opened, Response):
        return opened
    lang = pages_of(request).language(request)
    return _render(
        request,
        "notify/documents/download.html",
        opened,
        file_url=_url(request, "/file", opened.key),
        file_type=filetypes.DESCRIPTIONS.get(opened.document.mimetype, "file"),
        file_size=filetypes.human_size(opened.document.size),
        available_until=format_date(opened.document.expires_at, "d MMMM y", locale=lang),
    )


@router.get(BASE + "/file")
async def download_file(
    service: str, document: str, request: Request, session: ReadSession, key: str | None = None
) -> Response:
    """The file, as an attachment named as the sender named it (else after the document)."""
    opened = await _page(request, session, key, confirmed=True)
    if isinstance(opened, Response):
        return opened
    row = opened.document
    name = row.filename or f"{row.id}.{filetypes.PREFERRED_EXTENSION[row.mimetype]}"
    headers = {
        **PRIVATE,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(opened.data, media_type=row.mimetype, headers=headers)
