"""The worker process: one arq `Worker` per lane, all in one event loop.

Each lane is its own arq queue with its own `max_jobs`, so a priority lane never waits behind a bulk lane:
they share a process, not a concurrency budget. Periodic jobs (sweeps, crons) run on the periodic lane only,
and once per period across every process (see `gaap.jobs.periodic`).

Handlers are `async def task(ctx, ident: str) -> None`, registered under their function name. They must be
idempotent by construction, because delivery is at-least-once: claim the row first (`claim`), drop the job if
the claim matches nothing, and make every later change a conditional update (`transition`, `retry_at`). The
runner catches, logs and counts whatever a handler raises and then lets arq forget the job: retries are the
row's business (`retry_at` and the sweeper), not arq's, so they survive a Redis restart and follow the
component's own policy.

`ctx` holds what `on_startup` put there (by convention `ctx["db"]`, the component's `Database`, which sweeps
need), `ctx["jobs"]` (a `JobQueue` for follow-up work), `ctx["redis"]` (the lane's arq client) and arq's
`job_id` and `job_try`.

If a lane's connection to Redis fails, that lane's arq worker stops; the runner rebuilds it with backoff, so
workers resume by themselves when Redis returns. On SIGTERM or SIGINT every lane stops taking jobs, running
jobs get `shutdown_grace` to finish, and the rest are cancelled: arq leaves them queued, and their rows'
leases make any rerun a no-op until the lease expires and the sweeper takes over.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import structlog
from arq.cron import CronJob
from arq.worker import Function, Worker, func

from gaap.jobs.health import ProbeServer, worker_readiness
from gaap.jobs.metrics import DURATION, HANDLED
from gaap.jobs.periodic import Cron, Ctx, Sweep, cron_job, sweep_job
from gaap.jobs.queue import JobQueue, arq_redis, dumps, loads, queue_name
from gaap.logging import get_logger

log = get_logger("gaap.jobs")

Handler = Callable[[Ctx, str], Awaitable[None]]
Hook = Callable[[Ctx], Awaitable[None]]

#: Workers wait longer on Redis than the API's 1 s (nobody is waiting on them), but must never hang.
WORKER_SOCKET_TIMEOUT = 5.0
RESTART_BACKOFF_MAX = 30.0


@dataclass
class WorkerSpec:
    """What one component's worker process runs. `lanes` maps lane name to its concurrency."""

    component: str
    redis_url: str
    lanes: dict[str, int]
    tasks: list[Handler]
    sweeps: list[Sweep] = field(default_factory=list)
    cron: list[Cron] = field(default_factory=list)
    on_startup: Hook | None = None
    on_shutdown: Hook | None = None
    periodic_lane: str = "periodic"
    job_timeout: timedelta = timedelta(minutes=5)
    poll_delay: timedelta = timedelta(milliseconds=250)
    shutdown_grace: timedelta = timedelta(seconds=10)
    #: Serve /healthz, /readyz and /metrics on this port (0 picks a free one); None serves nothing.
    probe_port: int | None = None

    def lane_concurrency(self) -> dict[str, int]:
        lanes = dict(self.lanes)
        if (self.sweeps or self.cron) and self.periodic_lane not in lanes:
            lanes[self.periodic_lane] = len(self.sweeps) + len(self.cron)
        return lanes


def _task(queue: str, handler: Handler, timeout: timedelta) -> Function:
    """Wrap a handler: time it out, log and count its failures, and never hand an exception back to arq."""
    name = handler.__name__
    timeout_s = timeout.total_seconds()

    async def run(ctx: Ctx, ident: str) -> None:
        started = time.perf_counter()
        outcome = "ok"
        deadline = asyncio.timeout(timeout_s)
        with structlog.contextvars.bound_contextvars(task=name, id=ident, job_id=ctx.get("job_id")):
            try:
                async with deadline:
                    await handler(ctx, ident)
            except Exception as exc:
                outcome = "timeout" if isinstance(exc, TimeoutError) and deadline.expired() else "error"
                log.exception("jobs.handler_failed", queue=queue, outcome=outcome, job_try=ctx.get("job_try"))
        HANDLED.labels(queue, name, outcome).inc()
        DURATION.labels(queue, name).observe(time.perf_counter() - started)

    # arq's timeout is a backstop beyond ours; the wrapper never raises, so arq's retries never start.
    return func(run, name=name, timeout=timeout_s + 5, keep_result=0)


def _build_worker(spec: WorkerSpec, lane: str, concurrency: int, ctx: Ctx) -> Worker:
    queue = queue_name(spec.component, lane)
    periodic: list[CronJob] = []
    if lane == spec.periodic_lane:
        periodic = [sweep_job(spec.component, s) for s in spec.sweeps]
        periodic += [cron_job(spec.component, c) for c in spec.cron]
    return Worker(
        functions=[_task(queue, h, spec.job_timeout) for h in spec.tasks],
        queue_name=queue,
        cron_jobs=periodic,
        redis_pool=arq_redis(spec.redis_url, socket_timeout=WORKER_SOCKET_TIMEOUT),
        handle_signals=False,
        max_jobs=concurrency,
        job_timeout=spec.job_timeout.total_seconds() + 5,
        keep_result=0,
        poll_delay=spec.poll_delay.total_seconds(),
        ctx=dict(ctx),
        job_serializer=dumps,
        job_deserializer=loads,
        timezone=UTC,
        log_results=False,
    )


async def _stop_worker(worker: Worker, run: asyncio.Task[None], grace: float) -> None:
    """Stop taking jobs, give running ones `grace` seconds, cancel the rest (they stay queued), close."""
    worker.allow_pick_jobs = False
    running = [t for t in worker.tasks.values() if not t.done()]
    if running and grace > 0:
        await asyncio.wait(running, timeout=grace)
    try:
        await worker.close()  # cancels what is left and the poll loop, then closes the lane's Redis pool
    except asyncio.CancelledError:
        # arq's close() re-raises the cancellation of jobs it started after being told to stop (from a batch it
        # had already fetched; they stay queued). Only our own cancellation may propagate.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.info("jobs.lane_closed_with_cancelled_jobs", queue=worker.queue_name)
    except Exception as exc:  # Redis may be the reason we are stopping
        log.warning("jobs.lane_close_failed", queue=worker.queue_name, error=type(exc).__name__)
        with suppress(Exception):
            await worker.pool.aclose(close_connection_pool=True)
    run.cancel()
    with suppress(asyncio.CancelledError, Exception):
        await run


async def _run_lane(spec: WorkerSpec, lane: str, concurrency: int, ctx: Ctx, stop: asyncio.Event) -> None:
    """Run one lane until `stop` is set, rebuilding its arq worker (with backoff) whenever it fails."""
    backoff = 1.0
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            worker = _build_worker(spec, lane, concurrency, ctx)
            started = time.monotonic()
            run = asyncio.ensure_future(worker.async_run())
            try:
                await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the whole runner is being torn down: still close the lane
                await _stop_worker(worker, run, 0)
                raise
            if stop.is_set():
                await _stop_worker(worker, run, spec.shutdown_grace.total_seconds())
                return
            error = run.exception() if not run.cancelled() else None
            if time.monotonic() - started > RESTART_BACKOFF_MAX:
                backoff = 1.0  # it had been healthy: this is a new outage
            log.error("jobs.lane_failed", queue=worker.queue_name, error=repr(error), restart_in=backoff)
            await _stop_worker(worker, run, 0)
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stopping), backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX)
    finally:
        stopping.cancel()


async def serve(spec: WorkerSpec, *, stop: asyncio.Event | None = None, handle_signals: bool = True) -> None:
    """Run every lane of `spec` until `stop` is set (or, with `handle_signals`, until SIGTERM or SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    jobs = JobQueue.from_url(spec.redis_url, spec.component)
    ctx: Ctx = {"jobs": jobs, "component": spec.component}
    probes: ProbeServer | None = None
    started = False
    try:
        if spec.on_startup is not None:
            await spec.on_startup(ctx)
        started = True
        if spec.sweeps and "db" not in ctx:
            raise RuntimeError("sweeps need on_startup to put the component's Database in ctx['db']")
        if spec.probe_port is not None:

            async def ready() -> tuple[bool, dict[str, str]]:
                return await worker_readiness(spec.component, ctx.get("db"), jobs.redis)

            probes = ProbeServer(ready, port=spec.probe_port)
            await probes.start()
            ctx["probe_port"] = probes.port
        lanes = spec.lane_concurrency()
        log.info("jobs.worker_started", lanes=lanes, tasks=[t.__name__ for t in spec.tasks])
        runs = [asyncio.ensure_future(_run_lane(spec, lane, n, ctx, stop)) for lane, n in lanes.items()]
        try:
            await asyncio.gather(*runs)
        finally:  # if one lane fails outright (a bug), stop the others instead of leaving them running
            stop.set()
            await asyncio.gather(*runs, return_exceptions=True)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if probes is not None:
            await probes.stop()
        try:
            if started and spec.on_shutdown is not None:
                await spec.on_shutdown(ctx)
        finally:
            await jobs.close()
        log.info("jobs.worker_stopped")


def run_worker(spec: WorkerSpec) -> None:
    """The worker role's entry point (`gaap worker <component>`): blocks until SIGTERM or SIGINT."""
    loop_factory: Any = None
    with suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(spec))
