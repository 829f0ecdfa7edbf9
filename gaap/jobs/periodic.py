"""Periodic work: the sweeper that makes the queue lossless, and other scheduled tasks.

A `Sweep` re-queues rows that are overdue: in one of its statuses, with `next_attempt_at` more than `grace` in
the past. A row being worked on has `next_attempt_at` in the future (its lease), so the sweeper takes only
rows whose lease has expired: lost enqueues (Redis was down), lost jobs (Redis restarted empty), crashed
workers. Re-queueing a row that is in fact still queued is harmless: the job id is the same, so arq keeps the
one queued job.

Each periodic job runs once per period however many worker processes there are. arq's cron `unique=True` gives
the scheduled run a job id (`<name>:<scheduled ms>`), so every process enqueues the same job and arq keeps
one. That is not quite enough on its own: arq forgets the id when the job finishes, and a process whose
scheduler ticks late can enqueue it again (arq's in-progress guard then only delays the rerun by 60 s). So the
job also takes a Redis key named after that scheduled run (`SET NX` with a TTL) before it does anything; a
second copy finds the key and skips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arq.cron import CronJob, cron
from sqlalchemy import and_, or_, select

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs.leases import LeasedWork, status_in
from gaap.jobs.metrics import PERIODIC_RUNS, SWEPT
from gaap.jobs.queue import Enqueue, JobQueue
from gaap.logging import get_logger

log = get_logger("gaap.jobs")

Ctx = dict[str, Any]
PeriodicHandler = Callable[[Ctx], Awaitable[None]]
Schedule = int | set[int] | None

#: How long the "this scheduled run has started" key lives. Keys are per scheduled run, so this only has to
#: outlast the latest a duplicate copy could start (arq's 60 s in-progress guard plus a late scheduler tick).
PERIODIC_LOCK_TTL = timedelta(minutes=10)


def every_to_cron(every: timedelta) -> dict[str, Schedule]:
    """arq cron fields for "every N", aligned to the clock (every 5 min = at :00, :05, ...).

    N must divide a minute (in seconds), an hour (in minutes) or a day (in hours), so every process computes
    the same run times without sharing any state.
    """
    s = int(every.total_seconds())
    if s < 1 or s != every.total_seconds():
        raise ValueError(f"a period must be a whole number of seconds, not {every}")
    if s < 60 and 60 % s == 0:
        return {"second": None if s == 1 else set(range(0, 60, s))}
    if s < 3600 and s % 60 == 0 and 60 % (m := s // 60) == 0:
        return {"minute": None if m == 1 else set(range(0, 60, m)), "second": 0}
    if s <= 86400 and s % 3600 == 0 and 24 % (h := s // 3600) == 0:
        return {"hour": None if h == 1 else set(range(0, 24, h)), "minute": 0, "second": 0}
    raise ValueError(f"a period must divide a minute, an hour or a day: {every}")


@dataclass(frozen=True)
class Sweep:
    """Re-queue `task` on `lane` for rows of `model` in `statuses` that are more than `grace` overdue.

    `grace` is how late a row may be before we assume its job was lost; keep it above the normal queueing
    delay. Each run reads at most `max_batches` pages of `batch` ids (oldest first), so a huge backlog is
    worked through over several periods instead of in one long run.
    """

    name: str
    model: type[LeasedWork]
    statuses: Collection[Any]
    task: str
    lane: str
    grace: timedelta
    batch: int = 500
    every: timedelta = timedelta(minutes=1)
    max_batches: int = 20
    timeout: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Cron:
    """Any other periodic task of a component, `handler(ctx)`, run once per period across all processes.

    Give `every` (clock-aligned, see `every_to_cron`) or arq's cron fields (`hour`, `minute`, `second`: an int
    or a set; None means "every"), in UTC.
    """

    name: str
    handler: PeriodicHandler
    every: timedelta | None = None
    hour: Schedule = None
    minute: Schedule = None
    second: Schedule = 0
    timeout: timedelta = timedelta(minutes=5)
    fields: dict[str, Schedule] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fields = (
            every_to_cron(self.every)
            if self.every is not None
            else {"hour": self.hour, "minute": self.minute, "second": self.second}
        )
        object.__setattr__(self, "fields", fields)


async def sweep_once(db: Database, queue: JobQueue, sweep: Sweep, *, now: datetime | None = None) -> int:
    """Re-queue the overdue rows of one sweep; returns how many were handed to Redis.

    Pages by (next_attempt_at, id) so each page continues where the last ended. Stops early if Redis is
    unreachable: the rows stay overdue and the next run picks them up.
    """
    model = sweep.model
    cutoff = (now or utcnow()) - sweep.grace
    after: tuple[datetime, Any] | None = None
    queued = 0
    for _ in range(sweep.max_batches):
        stmt = select(model.id, model.next_attempt_at).where(
            status_in(model, sweep.statuses), model.next_attempt_at < cutoff
        )
        if after is not None:
            stmt = stmt.where(
                or_(
                    model.next_attempt_at > after[0],
                    and_(model.next_attempt_at == after[0], model.id > after[1]),
                )
            )
        async with db.read_session() as session:
            rows = (await session.execute(stmt.order_by(model.next_attempt_at, model.id).limit(sweep.batch))).all()
        # One round trip (and one pooled connection) per page: a sweep's enqueues issued one by one, and several
        # sweeps running in the same second over a backlog, drained the worker's Redis pool ("Too many
        # connections"), which interrupted the very sweeps that recover lost jobs.
        if rows and not await queue.enqueue_many([Enqueue(sweep.task, row.id, sweep.lane) for row in rows]):
            log.warning("jobs.sweep_interrupted", sweep=sweep.name, queued=queued)
            SWEPT.labels(queue.component, sweep.name).inc(queued)
            return queued
        queued += len(rows)
        if len(rows) < sweep.batch:
            break
        after = (rows[-1].next_attempt_at, rows[-1].id)
    SWEPT.labels(queue.component, sweep.name).inc(queued)
    if queued:
        log.info("jobs.swept", sweep=sweep.name, queued=queued)
    return queued


def periodic_job(
    component: str, name: str, handler: PeriodicHandler, fields: dict[str, Schedule], timeout: timedelta
) -> CronJob:
    """An arq cron job that runs `handler(ctx)` at most once per scheduled time across all processes."""
    cron_name = f"gaap:{component}:periodic:{name}"

    async def run_once(ctx: Ctx) -> None:
        lock = f"gaap:{component}:periodic-lock:{ctx['job_id']}"
        ttl_ms = int(PERIODIC_LOCK_TTL.total_seconds() * 1000)
        if not await ctx["redis"].set(lock, b"1", nx=True, px=ttl_ms):
            PERIODIC_RUNS.labels(component, name, "skipped").inc()
            return
        try:
            await handler(ctx)
        except Exception:
            PERIODIC_RUNS.labels(component, name, "error").inc()
            log.exception("jobs.periodic_failed", periodic=name)
        else:
            PERIODIC_RUNS.labels(component, name, "ran").inc()

    run_once.__qualname__ = cron_name
    return cron(
        run_once,
        name=cron_name,
        unique=True,
        timeout=timeout,
        keep_result=0,
        max_tries=1,
        **fields,  # type: ignore[arg-type]
    )


def sweep_job(component: str, sweep: Sweep) -> CronJob:
    """The periodic job for one sweep; it expects `ctx["db"]` (a Database) and `ctx["jobs"]` (a JobQueue)."""

    async def run_sweep(ctx: Ctx) -> None:
        await sweep_once(ctx["db"], ctx["jobs"], sweep)

    return periodic_job(component, sweep.name, run_sweep, every_to_cron(sweep.every), sweep.timeout)


def cron_job(component: str, job: Cron) -> CronJob:
    return periodic_job(component, job.name, job.handler, job.fields, job.timeout)
