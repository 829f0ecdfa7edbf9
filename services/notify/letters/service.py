"""Precompiled letters (notify spec §5.5) and letter PDFs (§6.3).

A precompiled letter is accepted in the request as a stored file and a notification in `pending-virus-check`;
nothing about the file is judged there beyond its encoding and size, because scanning and parsing untrusted PDFs
is slow and belongs off the request path. After the commit, `check_precompiled` is queued on its own lane: the
worker scans the file (`virus-scan-failed`), validates it (`validation-failed`: not a PDF, over 10 pages, not A4,
no address in the window, or an address the §10.3 rules refuse) and otherwise fills in the address, postage and
sheets and moves the row to `created`, where the normal letter path takes over exactly as for a templated letter.
Every change is a conditional update fenced by the claim's `attempt`, so a duplicate job changes nothing.

Like GOV.UK Notify, each service gets one hidden letter template, `Pre-compiled PDF`, that its precompiled
letters point to, so they carry a template id and version like every other notification and never appear in
the template list. Its id is derived from the service's, so it is found without a query by name.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from services.notify.auth import Caller
from services.notify.errors import BadRequestError, NoResultFound, PDFNotReadyError
from services.notify.letters.scanning import Scanner, ScannerError
from services.notify.letters.storage import letter_store
from services.notify.limits import counters as limits
from services.notify.notifications import repository as notifications
from services.notify.notifications.models import Notification
from services.notify.notifications.service import CHANNEL_NAMES, Accepted, lane_for
from services.notify.recipients import UK_POSTAGE, address_problem, parse_postal_address, postage_for
from services.notify.rendering.letters import LetterTooLong, billable_sheets, render_letter_pdf, validate_precompiled
from services.notify.templates import service as templates
from services.notify.templates.models import Template, TemplateHistory
from services.notify.tenancy.models import LetterContact, NotifyService

log = get_logger("notify.letters")

PENDING = "pending-virus-check"
#: The worker task and its lane: scans are slow and memory-hungry, so they queue apart from deliveries.
TASK = "check_precompiled"
LANE = "antivirus"
#: The ctx key under which the worker keeps its `Scanner`.
SCANNER = "letter_scanner"
#: A claim outlasts the longest scan (`NOTIFY_CLAMAV_TIMEOUT_SECONDS` is at most 240 s) plus validation.
LEASE = timedelta(minutes=5)
#: A `pending-virus-check` row this far past its due time lost its job; the sweep queues it again.
OVERDUE_GRACE = timedelta(minutes=2)
#: No verdict (scanner down, timed out): try again this much later, as deliveries do (§16.3), up to
#: `MAX_ATTEMPTS` claims in all (about 4 h), then `technical-failure`.
RETRY_DELAY = timedelta(minutes=5)
MAX_ATTEMPTS = 48
#: notify spec §11.3: 2 MiB before base64.
MAX_PDF_BYTES = 2 * 1024 * 1024
PRECOMPILED_TEMPLATE_NAME = "Pre-compiled PDF"
#: What GOV.UK shows as the recipient until the address has been read from the file.
PROVIDED_AS_PDF = "Provided as PDF"
_PRECOMPILED_TEMPLATES = uuid.UUID("5b0c38b6-57a1-4b1e-8f53-5d0f3d2f1c9e")
LONDON = ZoneInfo("Europe/London")
_POSTAGE_VALUES = tuple(p.value for p in UK_POSTAGE)
#: Enqueue tasks started after a commit, held so they are not garbage-collected before they finish.
_AFTER_COMMIT: set[asyncio.Task[bool]] = set()


def precompiled_template_id(service_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_PRECOMPILED_TEMPLATES, str(service_id))


# --- Accepting a precompiled letter (in the request) -------------------------------------------------------


def _decode(content: str) -> bytes:
    """Strict base64 (whitespace such as line breaks allowed): a lenient decoder would turn garbage into a
    file that fails validation later, instead of telling the caller now."""
    try:
        return base64.b64decode("".join(content.split()), validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise BadRequestError("Cannot decode letter content (invalid base64 encoding)") from None


async def _precompiled_template(session: AsyncSession, service: NotifyService) -> Template:
    ident = precompiled_template_id(service.id)
    template = await session.get(Template, ident)
    if template is not None:
        return template
    try:
        async with session.begin_nested():  # a concurrent first letter of the service may create it too
            template = await templates.create(
                session,
                service,
                name=PRECOMPILED_TEMPLATE_NAME,
                template_type="letter",
                content="",
                subject=PRECOMPILED_TEMPLATE_NAME,
                postage="second",
                template_id=ident,
            )
            return await templates.update(session, template, {"hidden": True})
    except IntegrityError:
        found = await session.get(Template, ident)
        if found is None:
            raise
        return found


async def accept_precompiled(
    session: AsyncSession, counts: limits.DailyCounts, caller: Caller, data: dict[str, Any]
) -> Accepted:
    """Store a precompiled letter and its notification (`pending-virus-check`); the 201 body is
    `{"id", "reference", "postage"}`. The caller has checked the key (`check_letter_key`) and the body's schema
    (`reference` and `content` present, strings). Test keys are accepted the same way; their letters are
    simulated once they reach `created`."""
    postage = data.get("postage", "second")
    if postage not in _POSTAGE_VALUES:
        raise BadRequestError("postage invalid. It must be either first, second or economy.")
    service = caller.service  # today's limit was checked by the endpoint, before the schema (§5.1)
    if not service.has("letter"):
        raise BadRequestError(f"Service is not allowed to send {CHANNEL_NAMES['letter']}")
    pdf = _decode(data["content"])
    if len(pdf) > MAX_PDF_BYTES:
        raise BadRequestError("File is larger than 2MB")
    template = await _precompiled_template(session, service)
    now = utcnow()
    row = Notification(
        id=uuid.uuid4(),
        service_id=service.id,
        template_id=template.id,
        template_version=template.version,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        notification_type="letter",
        to=PROVIDED_AS_PDF,
        status=PENDING,
        client_reference=data["reference"],
        personalisation={"address_line_1": PROVIDED_AS_PDF},
        body=template.content,
        subject=template.subject,
        postage=postage,
        process_type=template.process_type,
        created_at=now,
        next_attempt_at=now,
        attempt=0,
    )
    session.add(row)
    await session.flush()
    await letter_store(session).put(row.id, pdf)
    if caller.key_type != "test":
        await counts.increment(service.id, ["letter"])
    # The endpoint queues the scan once the request's transaction has committed.
    body = {"id": str(row.id), "reference": row.client_reference, "postage": postage}
    return Accepted(row, body, LANE, task=TASK, stored=True)


# --- Checking it (in the worker) ---------------------------------------------------------------------------


async def _move(db: Database, row: Notification, to_status: str, *, delete_pdf: bool = False, **values: Any) -> bool:
    """The one way `check_precompiled` changes a row: from `pending-virus-check`, and only if no later claim
    has taken the row over."""
    async with db.write_session() as session:
        moved = await transition(
            session,
            Notification,
            row.id,
            from_status=PENDING,
            to_status=to_status,
            expected_attempt=row.attempt,
            updated_at=utcnow(),
            **values,
        )
        if moved and delete_pdf:
            await letter_store(session).delete(row.id)
    return moved


async def _retry_later(ctx: dict[str, Any], row: Notification, error: str) -> None:
    when = utcnow() + RETRY_DELAY
    async with ctx["db"].write_session() as session:
        scheduled = await retry_at(
            session, Notification, row.id, status=PENDING, when=when, error=error, expected_attempt=row.attempt
        )
    if scheduled:
        await ctx["jobs"].enqueue(TASK, str(row.id), lane=LANE, defer_until=when)


async def check_precompiled(ctx: dict[str, Any], ident: str) -> None:
    """Scan, then validate, one precompiled letter, once, however many times its job is delivered."""
    db: Database = ctx["db"]
    async with db.read_session() as session:
        status = (await session.execute(select(Notification.status).where(Notification.id == ident))).scalar()
    if status != PENDING:
        return  # gone past retention, or already checked: a duplicate job
    async with db.write_session() as session:
        row = await claim(session, Notification, ident, expected_status=PENDING, lease=LEASE)
        if row is None:
            return  # another worker holds the lease, or a retry is not due yet
        service = await session.get(NotifyService, row.service_id)
        pdf = await letter_store(session).get(row.id)
    if row.attempt > MAX_ATTEMPTS or pdf is None or service is None:
        log.error("notify.letters.check_abandoned", id=ident, attempt=row.attempt, has_pdf=pdf is not None)
        await _move(db, row, "technical-failure")
        return
    scanner: Scanner = ctx[SCANNER]
    try:
        verdict = await scanner.scan(pdf)
    except ScannerError as exc:
        log.warning("notify.letters.scan_failed", id=ident, attempt=row.attempt, error=str(exc))
        await _retry_later(ctx, row, str(exc))
        return
    if not verdict.clean:
        # Nothing may serve the file again (§6.3), so it is not kept.
        if await _move(db, row, "virus-scan-failed", delete_pdf=True):
            log.warning("notify.letters.virus_found", id=ident, signature=verdict.signature)
        return
    await _validate(ctx, row, service, pdf)


async def _validate(ctx: dict[str, Any], row: Notification, service: NotifyService, pdf: bytes) -> None:
    result = await asyncio.to_thread(validate_precompiled, pdf)  # pypdf is pure Python: keep the loop free
    if result.failure is not None:
        if await _move(ctx["db"], row, "validation-failed"):
            log.info("notify.letters.invalid", id=str(row.id), reason=result.failure.value, detail=result.message)
        return
    allow_international = service.has("international_letters")
    address = parse_postal_address("\n".join(result.address_lines), allow_international_letters=allow_international)
    problem = address_problem(address)
    if problem is not None:
        if await _move(ctx["db"], row, "validation-failed"):
            log.info("notify.letters.invalid", id=str(row.id), reason="invalid-address", detail=problem)
        return
    moved = await _move(
        ctx["db"],
        row,
        "created",
        to="\n".join(address.lines),
        personalisation=address.as_personalisation(),
        postage=postage_for(address, row.postage or "second").value,
        international=address.international,
        billable_units=billable_sheets(result.page_count),
        next_attempt_at=utcnow(),  # due now on the letter path
    )
    if moved:
        log.info("notify.letters.accepted", id=str(row.id), pages=result.page_count)
        await ctx["jobs"].enqueue("deliver", str(row.id), lane=lane_for(row.key_type, row.process_type))


def sweep() -> Sweep:
    """Re-queue checks whose jobs were lost (Redis down at accept time, a crashed worker)."""
    return Sweep(PENDING, Notification, [PENDING], TASK, LANE, grace=OVERDUE_GRACE)


# --- The PDF endpoint ---------------------------------------------------------------------------------------


async def letter_pdf(session: AsyncSession, caller: Caller, notification_id: uuid.UUID) -> bytes:
    """A letter's PDF, checked in the order of §6.3. A templated letter without a file yet is drawn now, from
    what its row and template version hold, and kept: later requests (and the printer) get the same bytes."""
    row = await notifications.get(session, caller.service.id, notification_id)
    if row is None:
        raise NoResultFound()
    if row.notification_type != "letter":
        raise BadRequestError("Notification is not a letter")
    if row.status == "virus-scan-failed":
        raise BadRequestError("File did not pass the virus scan")
    if row.status == "technical-failure":
        raise BadRequestError(f"PDF not available for letters in status {row.status}")
    if row.status == PENDING:
        raise PDFNotReadyError()
    store = letter_store(session)
    pdf = await store.get(row.id)
    if pdf is not None:
        return pdf
    if row.template_id is None or row.template_id == precompiled_template_id(row.service_id):
        raise PDFNotReadyError()  # a precompiled letter's file comes only from its sender
    try:
        pdf = await render_stored_letter(session, row)
    except LetterTooLong as exc:  # the send cannot count pages; the letter path fails such letters
        raise BadRequestError(str(exc)) from None
    await store.put(row.id, pdf)
    return pdf


async def render_stored_letter(session: AsyncSession, row: Notification) -> bytes:
    """Draw a templated letter from its row: the template version it was sent with, its stored personalisation
    and validated address lines, its postage, the service's letter contact and the day it was sent (London)."""
    version = await session.get(TemplateHistory, (row.template_id, row.template_version))
    if version is None:
        raise LookupError(f"template {row.template_id} version {row.template_version} of {row.id} is missing")
    contacts = select(LetterContact.contact_block).where(LetterContact.service_id == row.service_id)
    chosen = LetterContact.id == version.reply_to if version.reply_to else LetterContact.is_default.is_(True)
    contact = (await session.execute(contacts.where(chosen).limit(1))).scalar()
    return await asyncio.to_thread(
        render_letter_pdf,
        content=version.content,
        subject=version.subject or "",
        personalisation=dict(row.personalisation or {}),
        address_lines=row.to.splitlines(),
        postage=row.postage or "second",
        contact_block=contact,
        letter_date=row.created_at.astimezone(LONDON).date(),
    )
