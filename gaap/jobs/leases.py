"""Leased work: the row is the job, and a conditional UPDATE is the only way to take or change it.

A component's table mixes in `LeasedWork` and keeps its own `id` and `status` columns. `next_attempt_at` is
the row's due time, and doubles as the lease expiry while a worker holds it, so one column answers both "may
anyone work on this now?" and "is this overdue?" (the sweeper's question).

Every helper here is one `UPDATE ... WHERE` statement. The database decides who wins a race: on PostgreSQL the
second UPDATE waits for the first to commit and then re-checks its WHERE clause (READ COMMITTED
re-evaluation); on SQLite `Database.write_session()` opens with `BEGIN IMMEDIATE`, so writers run one after
another. No read-modify-write in Python, so no lost updates, and the same code is safe on both (ARCHITECTURE
rule 3).

`attempt` is also a fencing token: a worker whose lease ran out while it was busy passes the `attempt` its
claim returned as `expected_attempt`, so its late write cannot overwrite the work of the worker that claimed
after it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Integer, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import UTCDateTime
from gaap.logging import get_logger

log = get_logger("gaap.jobs")

MAX_ERROR_LOG_CHARS = 500


class LeasedWork:
    """Mixin for a table whose rows are units of work.

    - `attempt`: how many times a worker has claimed the row (the claim increments it).
    - `next_attempt_at`: when the row is next due. New rows default to "now" (due at once); a scheduled row
      sets it to its scheduled time. A claim moves it to `now + lease`; `retry_at` moves it to the retry's due
      time.

    The sweeper filters on `status` and `next_attempt_at`: give the table an index on both, e.g.
    `Index("ix_<table>_status_next_attempt_at", "status", "next_attempt_at")`.
    """

    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"), nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    if TYPE_CHECKING:
        # Declared by the component's model; the helpers below rely on them.
        id: Mapped[Any]
        status: Mapped[Any]


W = TypeVar("W", bound=LeasedWork)


def status_in(model: type[LeasedWork], status: Any) -> ColumnElement[bool]:
    """`status = :s`, or `status IN (...)` when given several (a str or enum member counts as one)."""
    if isinstance(status, Collection) and not isinstance(status, str | bytes):
        return model.status.in_(list(status))
    return model.status == status


async def claim(
    session: AsyncSession,
    model: type[W],
    ident: Any,
    *,
    expected_status: Any,
    lease: timedelta,
    now: datetime | None = None,
) -> W | None:
    """Take the lease on one row, or return None if it is not ours to take.

    `UPDATE ... SET attempt = attempt + 1, next_attempt_at = now + lease WHERE id = :id AND status = :expected
    AND next_attempt_at <= now RETURNING *`. None means another worker holds the lease, the row has moved on
    to another status, or it is not due yet: in every case the job that asked is a duplicate and should be
    dropped.

    Commit the session right after claiming (before any slow call) so other workers see the lease. Choose a
    lease longer than the slowest external call the handler makes; a handler still running when its lease runs
    out may be joined by a second worker, which the `expected_attempt` fence on later writes makes harmless.
    """
    now = now or utcnow()
    stmt = (
        update(model)
        .where(model.id == ident, status_in(model, expected_status), model.next_attempt_at <= now)
        .values(attempt=model.attempt + 1, next_attempt_at=now + lease)
        .returning(model)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    result = await session.execute(stmt)
    return result.scalar_one_or_none()


async def transition(
    session: AsyncSession,
    model: type[LeasedWork],
    ident: Any,
    *,
    from_status: Any,
    to_status: Any,
    expected_attempt: int | None = None,
    **values: Any,
) -> bool:
    """Move a row from one status (or any of several) to another, setting `values` too; True if it moved.

    False means the row was not in `from_status` (someone else already moved it: a duplicate delivery, a
    receipt that overtook us) or, with `expected_attempt`, that a later claim has superseded ours. The caller
    treats False as "nothing to do", never as an error to retry.
    """
    stmt = update(model).where(model.id == ident, status_in(model, from_status))
    if expected_attempt is not None:
        stmt = stmt.where(model.attempt == expected_attempt)
    result = cast(CursorResult[Any], await session.execute(stmt.values(status=to_status, **values)))
    return result.rowcount == 1


async def retry_at(
    session: AsyncSession,
    model: type[LeasedWork],
    ident: Any,
    *,
    status: Any,
    when: datetime,
    error: str,
    expected_attempt: int | None = None,
    **values: Any,
) -> bool:
    """Schedule another attempt: keep the row in `status`, due at `when`; True if the row was updated.

    This replaces the queue library's own retries on purpose: the due time lives in the row, so it survives a
    Redis restart, the sweeper sees it, and the component's policy (backoff, a maximum number of attempts read
    from `attempt`) is plain code next to its data. Setting `when` to now releases the lease at once. `error`
    is logged (truncated) with the row's id; pass `values` to record it in a column of the component's own.

    After committing, enqueue the job with `defer_until=when` so it runs on time; if that enqueue is lost, the
    sweeper re-queues the row once it is overdue.
    """
    stmt = update(model).where(model.id == ident, status_in(model, status))
    if expected_attempt is not None:
        stmt = stmt.where(model.attempt == expected_attempt)
    result = cast(CursorResult[Any], await session.execute(stmt.values(next_attempt_at=when, **values)))
    scheduled = result.rowcount == 1
    log.info(
        "jobs.retry_scheduled" if scheduled else "jobs.retry_not_scheduled",
        table=getattr(model, "__tablename__", model.__name__),
        id=str(ident),
        due=when.isoformat(),
        error=error[:MAX_ERROR_LOG_CHARS],
    )
    return scheduled
