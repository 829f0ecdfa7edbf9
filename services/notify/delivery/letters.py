"""Letters to print (notify spec §16.5): the daily collation that hands letters to the print provider.

Live letters are not delivered one by one: they wait in `created` until the print cut-off (17:30 London on a
working day, `print_days`), and the `letters-print` cron job (every 5 minutes, so the first run after the cut-off
takes them) sends everything accepted before the latest cut-off in one run, in batches:

1. **Claim a batch** with one conditional UPDATE that takes a lease on each row (`attempt + 1`, `next_attempt_at =
   now + lease`), only rows still `created` and due; every later write is fenced by the claim's `attempt`.
2. **Prepare each letter**: its PDF from the letter store, drawn now (and stored) for a templated letter that has
   none yet; its sheets billed (`billable_units`, two pages a sheet); and the row *pinned* to the provider
   (`sent_by`) before any call, meaning "the provider may have it from now on". A templated letter over 10 pages
   cannot be printed and a precompiled one without its file is lost: both are `technical-failure`.
3. **Never twice**: letters already pinned when claimed (their last hand-over timed out, or the worker died
   mid-call) are first looked up at the provider (`PrintApi.held`); those it holds are recorded as handed over
   without being sent again. The provider also answers `duplicate` for a reference it holds.
4. **Hand over** the rest (`PrintApi.send_batch`, batches of `NOTIFY_PRINT_BATCH_SIZE` and at most 16 MiB of PDF):
   each accepted letter becomes `sending` (`sent_at`, `sent_by`, `reference` = the batch id); a letter the provider
   refuses becomes `technical-failure`. A failed call keeps its letters `created`, due again 300 s later (the next
   runs retry them, 48 times at most, then `technical-failure`), and unpins them when the provider certainly has
   none of the batch.

The provider's reports come back through the receipt webhook (`receipts.print_reports`): printed → `delivered`,
rejected → `technical-failure`, returned → `returned-letter` with the service's returned-letter callback.
Test keys' letters never come here: the test lane simulates them (`tasks.simulate`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from gaap.db.engine import Database
from gaap.jobs import retry_at, transition
from gaap.logging import get_logger
from services.notify.delivery.print_api import PrintApi, PrintLetter
from services.notify.delivery.print_days import latest_cut_off
from services.notify.delivery.providers import Ctx, ProviderError, clock
from services.notify.delivery.tasks import MAX_RETRIES, RETRY_INTERVAL
from services.notify.letters.service import precompiled_template_id, render_stored_letter
from services.notify.letters.storage import letter_store
from services.notify.notifications.models import Notification
from services.notify.rendering.letters import LetterTooLong, billable_sheets, letter_page_count
from services.notify.tenancy.models import NotifyService

log = get_logger("notify.delivery.letters")

#: The ctx key of the worker's `PrintApi`.
PRINT = "print_api"
#: The ctx key of the batch size (`NOTIFY_PRINT_BATCH_SIZE`).
BATCH_SIZE = "print_batch_size"
#: A claim holds its letters this long: past drawing a batch's PDFs and the provider's timeout (at most 300 s).
LEASE = timedelta(minutes=10)
#: A batch closes before its PDFs pass this many bytes (a precompiled letter may be 2 MiB).
MAX_BATCH_BYTES = 16 * 1024 * 1024
#: A run stops after this many claims; the next run goes on where it stopped.
MAX_CLAIMS_PER_RUN = 2_000


@dataclass
class Collation:
    """What one run did, by letter: handed over (sent now or found held), failed for good, left for a retry."""

    cut_off: datetime
    handed_over: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    retrying: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Prepared:
    row: Notification
    letter: PrintLetter
    pinned_before: bool


def due_letters(cut_off: datetime, now: datetime, size: int) -> Any:
    """Live letters accepted (or scheduled) before `cut_off`, still `created` and due, oldest first."""
    return (
        select(Notification.id)
        .where(
            Notification.notification_type == "letter",
            Notification.status == "created",
            Notification.key_type != "test",
            func.coalesce(Notification.scheduled_for, Notification.created_at) < cut_off,
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.created_at, Notification.id)
        .limit(size)
    )


async def claim_batch(db: Database, cut_off: datetime, now: datetime, size: int) -> list[Notification]:
    """Lease up to `size` due letters at once; a row another run took meanwhile is simply not returned."""
    async with db.write_session() as session:
        ids = list((await session.scalars(due_letters(cut_off, now, size))).all())
        if not ids:
            return []
        result = await session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status == "created", Notification.next_attempt_at <= now)
            .values(attempt=Notification.attempt + 1, next_attempt_at=now + LEASE)
            .returning(Notification)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        rows = list(result.scalars())
        for row in rows:
            session.expunge(row)
    return sorted(rows, key=lambda r: (r.created_at, r.id))


async def collate(ctx: Ctx) -> Collation:
    """Hand every letter due for print to the provider (see the module docstring)."""
    db: Database = ctx["db"]
    api: PrintApi = ctx[PRINT]
    now = clock(ctx)
    run = Collation(cut_off=latest_cut_off(now))
    for _ in range(MAX_CLAIMS_PER_RUN):
        rows = await claim_batch(db, run.cut_off, now, ctx.get(BATCH_SIZE, 50))
        if not rows:
            break
        await _hand_over(db, api, rows, now, run)
    if run.handed_over or run.failed or run.retrying:
        log.info(
            "notify.letters.collated",
            cut_off=run.cut_off.isoformat(),
            handed_over=len(run.handed_over),
            failed=len(run.failed),
            retrying=len(run.retrying),
        )
    return run


async def collate_job(ctx: Ctx) -> None:
    """The `letters-print` cron job."""
    await collate(ctx)


async def _hand_over(db: Database, api: PrintApi, rows: list[Notification], now: datetime, run: Collation) -> None:
    active = await _active_services(db, {row.service_id for row in rows})
    prepared: list[Prepared] = []
    for row in rows:
        if not active.get(row.service_id, False):
            await _fail(db, row, now, run, "the service is inactive")  # §16.2
            continue
        try:
            item = await _prepare(db, api.name, row, now, run)
        except Exception as exc:  # a bug, or a font gone missing: retried like a provider exception, not lost
            log.error("notify.letters.prepare_failed", id=str(row.id), exc_info=exc)
            await _retry(db, [(row, row.sent_by == api.name)], now, run, ProviderError(repr(exc)))
            continue
        if item is not None:
            prepared.append(item)
    pinned = [p for p in prepared if p.pinned_before]
    if pinned:
        try:
            held = await api.held([p.letter.reference for p in pinned])
        except ProviderError as exc:
            await _retry(db, [(p.row, True) for p in pinned], now, run, exc)
            prepared = [p for p in prepared if not p.pinned_before]
        else:
            found = [p for p in pinned if p.letter.reference in held]
            await _handed_over(db, found, now, run, batch_id=None, provider=api.name)
            prepared = [p for p in prepared if p not in found]
    for batch in _batches(prepared):
        batch_id = str(uuid.uuid4())
        try:
            results = await api.send_batch(batch_id, [p.letter for p in batch])
        except ProviderError as exc:
            await _retry(db, [(p.row, p.pinned_before) for p in batch], now, run, exc)
            continue
        await _handed_over(
            db, [p for p in batch if results[p.letter.reference].held], now, run, batch_id=batch_id, provider=api.name
        )
        for p in batch:
            outcome = results[p.letter.reference]
            if not outcome.held:
                await _fail(db, p.row, now, run, f"{api.name} refused it: {outcome.message}")


def _batches(prepared: list[Prepared]) -> list[list[Prepared]]:
    batches: list[list[Prepared]] = []
    size = 0
    for item in prepared:
        if not batches or size + len(item.letter.pdf) > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += len(item.letter.pdf)
    return batches


async def _active_services(db: Database, service_ids: set[uuid.UUID]) -> dict[uuid.UUID, bool]:
    async with db.read_session() as session:
        found = await session.execute(
            select(NotifyService.id, NotifyService.active).where(NotifyService.id.in_(service_ids))
        )
        return {ident: bool(active) for ident, active in found}


async def _prepare(db: Database, provider: str, row: Notification, now: datetime, run: Collation) -> Prepared | None:
    """The letter's PDF (drawn and stored if it has none yet), its sheets billed and the row pinned; None if it
    failed or the claim was lost."""
    async with db.read_session() as session:
        pdf = await letter_store(session).get(row.id)
        if pdf is None and row.template_id != precompiled_template_id(row.service_id):
            try:
                pdf = await render_stored_letter(session, row)
            except LetterTooLong as exc:
                await _fail(db, row, now, run, str(exc))
                return None
    if pdf is None:
        await _fail(db, row, now, run, "the precompiled letter's file is missing")
        return None
    pages = await asyncio.to_thread(letter_page_count, pdf)
    async with db.write_session() as session:
        result: Any = await session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.status == "created", Notification.attempt == row.attempt)
            .values(billable_units=billable_sheets(pages), sent_by=provider, updated_at=now)
        )
        if result.rowcount != 1:
            return None  # the lease ran out and a later claim took the letter over
        await letter_store(session).put(row.id, pdf)  # the same bytes a later GET …/pdf and a re-send get
    letter = PrintLetter(str(row.id), row.postage or "second", row.to.splitlines(), pages, pdf)
    return Prepared(row, letter, pinned_before=row.sent_by == provider)


async def _handed_over(
    db: Database, items: list[Prepared], now: datetime, run: Collation, *, batch_id: str | None, provider: str
) -> None:
    if not items:
        return
    values: dict[str, Any] = {"sent_at": now, "sent_by": provider, "updated_at": now}
    if batch_id is not None:
        values["reference"] = batch_id
    async with db.write_session() as session:
        for p in items:
            moved = await transition(
                session,
                Notification,
                p.row.id,
                from_status="created",
                to_status="sending",
                expected_attempt=p.row.attempt,
                **values,
            )
            if moved:
                run.handed_over.append(p.row.id)


async def _retry(
    db: Database, items: list[tuple[Notification, bool]], now: datetime, run: Collation, error: ProviderError
) -> None:
    """§16.3 for a failed hand-over: due again in 300 s, or `technical-failure` once the retries are spent or the
    provider refused the batch for good. Unpinned when the provider certainly has none of it."""
    log.warning("notify.letters.hand_over_failed", letters=len(items), error=str(error)[:500])
    for row, pinned_before in items:
        if not error.retryable or row.attempt > MAX_RETRIES:
            await _fail(db, row, now, run, str(error))
            continue
        values: dict[str, Any] = {"updated_at": now}
        if error.unsent and not pinned_before:
            values["sent_by"] = None
        async with db.write_session() as session:
            scheduled = await retry_at(
                session,
                Notification,
                row.id,
                status="created",
                when=now + RETRY_INTERVAL,
                error=str(error),
                expected_attempt=row.attempt,
                **values,
            )
        if scheduled:
            run.retrying.append(row.id)


async def _fail(db: Database, row: Notification, now: datetime, run: Collation, reason: str) -> None:
    async with db.write_session() as session:
        moved = await transition(
            session,
            Notification,
            row.id,
            from_status="created",
            to_status="technical-failure",
            expected_attempt=row.attempt,
            updated_at=now,
        )
    if moved:
        run.failed.append(row.id)
        log.warning("notify.letters.technical_failure", id=str(row.id), reason=reason[:500])
