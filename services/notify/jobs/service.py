"""Accepting a bulk job (notify spec §18.6): parse the rows, check every one with the one-off send path, check the
daily limit for the whole batch, then store the job and all its notifications in one transaction.

Each row goes through the same sender as `POST /v2/notifications/{sms,email,letter}` (template, personalisation,
recipient, trial and team rules, rendering, length), so a row is accepted exactly when the same values sent one by
one would be. Nothing is stored unless every row passes: a job is all or nothing, and the 400 lists the bad rows.

Rows are numbered as in a spreadsheet: the header row is row 1, so the first recipient is row 2.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.errors import ApiError
from services.notify.auth import Caller
from services.notify.errors import BadRequestError, NoResultFound, ValidationError
from services.notify.formats import iso
from services.notify.jobs.models import Job
from services.notify.limits import counters as limits
from services.notify.notifications import service as sending
from services.notify.notifications.models import Notification
from services.notify.notifications.writer import row_values
from services.notify.recipients import InvalidEmailError, InvalidPhoneError
from services.notify.rendering.placeholders import normalise_name
from services.notify.schemas import MAX_BULK_ROWS

#: Notifications per INSERT: large enough that 100,000 rows are ~100 statements, small enough for PostgreSQL's
#: 65,535 bind parameters per statement (about 30 columns a row).
INSERT_CHUNK = 1000
#: Checking rows is CPU work (about 0.1–0.2 ms a row); the event loop is let go this often so the process's
#: one-off sends are not held up behind a large file.
YIELD_EVERY = 200
#: A file with many bad rows is reported by its first ones: the answer stays small and the fix is the same.
MAX_REPORTED_ERRORS = 100
RECIPIENT_COLUMNS = {"sms": "phone number", "email": "email address", "letter": "address line 1"}
SENDER_FIELDS = {"sms": "sms_sender_id", "email": "email_reply_to_id"}
NOTIFICATIONS = cast(Table, Notification.__table__)
SENDERS = {"sms": sending.send_sms, "email": sending.send_email, "letter": sending.send_letter}


class RowErrors(BadRequestError):
    """Rows that could not be sent: one envelope item per bad row, each message starting `Row <n>: `."""

    def __init__(self, problems: list[tuple[int, ApiError]], total: int) -> None:
        items = [
            {"error": exc.code, "message": f"Row {row}: {text}"}
            for row, exc in problems
            for text in getattr(exc, "messages", [exc.message])
        ]
        if total > len(problems):
            items.append({"error": "BadRequestError", "message": f"{total - len(problems)} more rows have errors"})
        super().__init__(items[0]["message"])
        self.items = items


@dataclass
class Sheet:
    headers: list[str]
    rows: list[list[str]]


def read_table(data: dict[str, Any]) -> Sheet:
    """The header row and the data rows, from `rows` or the base64 `csv`. Blank rows are dropped, short rows
    padded, so a spreadsheet's trailing empty lines and cells do not count as errors."""
    if "csv" in data:
        try:
            text = base64.b64decode(data["csv"], validate=True).decode("utf-8-sig")
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationError("csv is not a base64-encoded UTF-8 file") from None
        raw: list[list[Any]] = list(csv.reader(io.StringIO(text)))
    else:
        raw = data["rows"]
    if not raw:
        raise ValidationError("The file is empty")
    headers = [str(cell).strip() for cell in raw[0]]
    width = len(headers)
    rows = []
    for cells in raw[1:]:
        values = ["" if cell is None else str(cell).strip() for cell in cells]
        if any(values):
            rows.append((values + [""] * width)[:width])
    if not rows:
        raise ValidationError("The file has no rows to send")
    if len(rows) > MAX_BULK_ROWS:
        raise ValidationError(f"The file has {len(rows)} rows: at most {MAX_BULK_ROWS} can be sent in one job")
    return Sheet(headers, rows)


@dataclass
class Accepted:
    job: Job
    notifications: list[Notification]


async def accept(ctx: sending.SendContext, caller: Caller, data: dict[str, Any]) -> Accepted:
    """Every row checked as a one-off send would be; raises `RowErrors` listing the bad ones."""
    template = await ctx.records.template(uuid.UUID(data["template_id"]))
    if template is None or template.service_id != caller.service.id:
        raise BadRequestError("Template not found")
    template_type = template.template_type
    table = read_table(data)
    recipient = RECIPIENT_COLUMNS[template_type]
    names = [normalise_name(header) for header in table.headers]
    if normalise_name(recipient) not in names:
        raise BadRequestError(f"The file needs a column called ‘{recipient}’")
    column = names.index(normalise_name(recipient))
    fixed: dict[str, Any] = {"template_id": data["template_id"]}
    if data.get("reply_to_id") and template_type in SENDER_FIELDS:
        fixed[SENDER_FIELDS[template_type]] = data["reply_to_id"]
    send = SENDERS[template_type]
    field = {"sms": "phone_number", "email": "email_address"}.get(template_type)
    notifications: list[Notification] = []
    problems: list[tuple[int, ApiError]] = []
    failed = 0
    for number, cells in enumerate(table.rows, start=2):
        if number % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        row = {**fixed, "personalisation": dict(zip(table.headers, cells, strict=True))}
        if field is not None:
            row[field] = cells[column]
        try:
            try:
                accepted = await send(ctx, caller, row)
            except (InvalidPhoneError, InvalidEmailError) as exc:
                # A one-off send meets these in its schema (the recipient's format checker), worded so.
                raise ValidationError(f"{field} {exc}") from None
        except ApiError as exc:
            failed += 1
            if len(problems) < MAX_REPORTED_ERRORS:
                problems.append((number, exc))
            continue
        if accepted.notification is not None:  # smoke-test recipients are answered, never stored (§3.5)
            notifications.append(accepted.notification)
    if failed:
        raise RowErrors(problems, failed)
    await _check_daily_limits(ctx.counts, caller, notifications)
    return Accepted(_new_job(caller, data, template.version, notifications), notifications)


async def _check_daily_limits(counts: limits.DailyCounts, caller: Caller, rows: list[Notification]) -> None:
    """§18.6: the whole batch must fit in what is left of today's limit (a half-sent job helps nobody)."""
    for (_service_id, channel), count in limits.tally(rows).items():
        await counts.check(caller.service, channel, count)


def _new_job(caller: Caller, data: dict[str, Any], version: int, rows: list[Notification]) -> Job:
    when = sending.scheduled_for(caller, data)
    job = Job(
        id=uuid.uuid4(),
        service_id=caller.service.id,
        name=data["name"],
        template_id=uuid.UUID(data["template_id"]),
        template_version=version,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        notification_count=len(rows),
        job_status="scheduled" if when else "in progress",
        scheduled_for=when,
        created_at=utcnow(),
    )
    for row in rows:
        row.job_id = job.id
        # The bulk lane (test keys keep theirs): `lane_for` and the sweeper both route on the process type.
        row.process_type = "bulk"
        row.created_at = job.created_at
        row.scheduled_for = when
        row.next_attempt_at = when or job.created_at
    return job


async def store(db: Database, accepted: Accepted) -> None:
    """The job and its notifications in one transaction, the notifications in multi-row INSERTs of
    `INSERT_CHUNK`: durable before the 201, in seconds for 100,000 rows."""
    rows = [row_values(n) for n in accepted.notifications]
    async with db.write_session() as session:
        session.add(accepted.job)
        await session.flush()
        for start in range(0, len(rows), INSERT_CHUNK):
            await session.execute(insert(NOTIFICATIONS), rows[start : start + INSERT_CHUNK])


def job_json(job: Job, *, status: str | None = None) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "name": job.name,
        "template_id": str(job.template_id),
        "template_version": job.template_version,
        "notification_count": job.notification_count,
        "job_status": status or job.job_status,
        "scheduled_for": iso(job.scheduled_for),
        "created_at": iso(job.created_at),
    }


async def _job(session: AsyncSession, caller: Caller, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.service_id != caller.service.id:
        raise NoResultFound()
    return job


async def progress(session: AsyncSession, caller: Caller, job_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The job with its notifications counted by status. `finished` once none is left `created` (every one has
    been handed to a provider or has failed); a scheduled job shows `in progress` from its time."""
    job = await _job(session, caller, job_id)
    counted = await session.execute(
        select(Notification.status, func.count()).where(Notification.job_id == job.id).group_by(Notification.status)
    )
    statuses: dict[str, int] = dict(counted.all())
    status = job.job_status
    if status == "scheduled" and job.scheduled_for is not None and job.scheduled_for <= now:
        status = "in progress"
    if status == "in progress" and not statuses.get("created"):
        status = "finished"
    return {**job_json(job, status=status), "statuses": statuses}


async def cancel(session: AsyncSession, caller: Caller, job_id: uuid.UUID, now: datetime) -> Job:
    """§18.6: only a job still waiting for its time; its notifications are cancelled with it (delivery claims only
    `created` rows, so none of them is sent after this commits)."""
    job = await _job(session, caller, job_id)
    moved = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.job_status == "scheduled", Job.scheduled_for > now)
        .values(job_status="cancelled", updated_at=now)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise BadRequestError("Job cannot be cancelled - only scheduled jobs that have not started can be cancelled")
    await session.execute(
        update(Notification)
        .where(Notification.job_id == job.id, Notification.status == "created")
        .values(status="cancelled", updated_at=now)
    )
    await session.refresh(job)
    return job
