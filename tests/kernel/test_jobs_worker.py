"""The worker runner with real arq workers in-process: end to end, retries, lanes, periodic jobs, shutdown.

Workers run inside the test's event loop via `serve(spec, stop=...)`; the signal test runs `run_worker` in a
child process, as the `gaap worker` role does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path

import orjson
from redis.asyncio import Redis

from gaap.db import Database, utcnow
from gaap.jobs import Cron, JobQueue, WorkerSpec, claim, queue_name, retry_at, serve, transition
from gaap.jobs.periodic import periodic_job
from gaap.jobs.worker import Handler
from tests.kernel.test_jobs import (  # noqa: F401  (pytest finds the imported fixtures by their `name=`)
    COMPONENT,
    LEASE,
    FlakyProxy,
    WorkItem,
    add_items,
    db_fixture,
    db_url_fixture,
    get_item,
    jobs_fixture,
    postgres_url_fixture,
    sample,
    sweep_for,
)

REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def running(*specs: WorkerSpec) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(spec, stop=stop, handle_signals=False)) for spec in specs]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)


async def eventually(predicate: Callable[[], object], within: float = 10) -> None:
    """Poll state that lives outside this loop's control (Redis, another task's progress)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def spec_with_db(db_url: str, redis_url: str, tasks: list[Handler], **kwargs: object) -> WorkerSpec:
    async def startup(ctx: dict[str, object]) -> None:
        ctx["db"] = Database(db_url)

    async def shutdown(ctx: dict[str, object]) -> None:
        database = ctx["db"]
        assert isinstance(database, Database)
        await database.dispose()

    lanes = kwargs.pop("lanes", {"default": 4})
    return WorkerSpec(
        COMPONENT,
        redis_url,
        lanes,
        tasks,
        on_startup=startup,
        on_shutdown=shutdown,
        **kwargs,  # type: ignore[arg-type]
    )


def processor(calls: Counter[str]) -> Handler:
    """The idempotent handler every component writes: claim, work outside a transaction, fenced write."""

    async def process(ctx: dict[str, object], ident: str) -> None:
        database = ctx["db"]
        assert isinstance(database, Database)
        async with database.write_session() as session:
            row = await claim(session, WorkItem, ident, expected_status="created", lease=LEASE)
        if row is None:
            calls["dropped"] += 1  # a duplicate delivery: someone holds the lease or the row is done
            return
        calls["claimed"] += 1
        await asyncio.sleep(0.01)  # the external call, with no transaction open
        async with database.write_session() as session:
            await transition(
                session,
                WorkItem,
                ident,
                from_status="created",
                to_status="done",
                expected_attempt=row.attempt,
                effects=WorkItem.effects + 1,
            )

    return process


async def test_a_job_delivered_twice_has_exactly_one_effect(
    db: Database, db_url: str, jobs: JobQueue, redis_url: str
) -> None:
    calls: Counter[str] = Counter()
    idents = await add_items(db, 10)
    for ident in idents:  # committed first, then enqueued
        assert await jobs.enqueue("process", ident, lane="default")
        assert await jobs.enqueue("process", ident, lane="default")  # same job id: arq keeps one job
        assert await jobs.enqueue("process", ident, lane="default", dedupe_key=f"{ident}:again")  # a real duplicate
    async with running(spec_with_db(db_url, redis_url, [processor(calls)])):
        await eventually(lambda: calls["claimed"] + calls["dropped"] == 20)
    assert calls == Counter(claimed=10, dropped=10)
    for ident in idents:
        row = await get_item(db, ident)
        assert (row.status, row.effects, row.attempt) == ("done", 1, 1)


async def test_handler_failures_are_counted_and_retries_live_in_the_row(
    db: Database, db_url: str, jobs: JobQueue, redis_url: str
) -> None:
    async def broken(ctx: dict[str, object], ident: str) -> None:
        raise RuntimeError("boom")

    async def flaky(ctx: dict[str, object], ident: str) -> None:
        database = ctx["db"]
        assert isinstance(database, Database)
        async with database.write_session() as session:
            row = await claim(session, WorkItem, ident, expected_status="created", lease=LEASE)
        if row is None:
            return
        async with database.write_session() as session:
            if row.attempt == 1:  # the provider timed out: try again shortly
                when = utcnow() + timedelta(milliseconds=300)
                await retry_at(
                    session, WorkItem, ident, status="created", when=when, error="timeout", expected_attempt=1
                )
            else:
                await transition(
                    session,
                    WorkItem,
                    ident,
                    from_status="created",
                    to_status="done",
                    effects=WorkItem.effects + 1,
                )
        if row.attempt == 1:  # after commit; a deferred job has its own id, so this running job can't swallow it
            queue = ctx["jobs"]
            assert isinstance(queue, JobQueue)
            assert await queue.enqueue("flaky", ident, lane="default", defer_until=when)

    queue = queue_name(COMPONENT, "default")

    def handled(task: str, outcome: str) -> float:
        return sample("gaap_jobs_handled_total", queue=queue, task=task, outcome=outcome)

    errors_before, flaky_before = handled("broken", "error"), handled("flaky", "ok")
    [ident] = await add_items(db)
    await jobs.enqueue("broken", "anything", lane="default")
    await jobs.enqueue("flaky", ident, lane="default")
    async with running(spec_with_db(db_url, redis_url, [broken, flaky])):
        await eventually(lambda: handled("flaky", "ok") == flaky_before + 2)
        await eventually(lambda: handled("broken", "error") == errors_before + 1)
    row = await get_item(db, ident)
    assert (row.status, row.effects, row.attempt) == ("done", 1, 2)


async def test_a_slow_lane_does_not_block_a_fast_lane(redis: Redis, redis_url: str, jobs: JobQueue) -> None:
    release = asyncio.Event()
    slow_started = asyncio.Event()
    fast_done: list[str] = []

    async def slow(ctx: dict[str, object], ident: str) -> None:
        slow_started.set()
        await release.wait()

    async def fast(ctx: dict[str, object], ident: str) -> None:
        fast_done.append(ident)

    spec = WorkerSpec(COMPONENT, redis_url, {"bulk": 1, "priority": 1}, [slow, fast])
    async with running(spec):
        for i in range(3):
            await jobs.enqueue("slow", f"s{i}", lane="bulk")
        await asyncio.wait_for(slow_started.wait(), 5)
        await jobs.enqueue("fast", "on-priority", lane="priority")
        await eventually(lambda: "on-priority" in fast_done, within=3)
        await jobs.enqueue("fast", "on-bulk", lane="bulk")  # the same task on the busy lane waits its turn
        await asyncio.sleep(0.6)
        assert "on-bulk" not in fast_done
        release.set()
        await eventually(lambda: "on-bulk" in fast_done)


async def test_periodic_jobs_run_once_per_period_across_two_workers(
    db: Database, db_url: str, redis: Redis, redis_url: str
) -> None:
    ticks: list[str] = []
    calls: Counter[str] = Counter()
    [overdue] = await add_items(db, next_attempt_at=utcnow() - timedelta(minutes=10))  # its enqueue was lost

    async def tick(ctx: dict[str, object]) -> None:
        ticks.append(str(ctx["job_id"]))

    def spec() -> WorkerSpec:
        return spec_with_db(
            db_url,
            redis_url,
            [processor(calls)],
            lanes={"default": 2},
            sweeps=[sweep_for(every=timedelta(seconds=1))],
            cron=[Cron("tick", tick, every=timedelta(seconds=1))],
        )

    sweeps_before = sample("gaap_jobs_periodic_runs_total", component=COMPONENT, name="items", outcome="ran")
    async with running(spec(), spec()):
        await asyncio.sleep(3.3)
    assert len(ticks) >= 2
    assert len(set(ticks)) == len(ticks), ticks  # never two runs for one scheduled time
    sweeps = sample("gaap_jobs_periodic_runs_total", component=COMPONENT, name="items", outcome="ran")
    assert 2 <= sweeps - sweeps_before <= len(ticks) + 1
    row = await get_item(db, overdue)
    assert (row.status, row.effects) == ("done", 1)


async def test_a_late_duplicate_of_a_periodic_run_is_skipped(redis: Redis) -> None:
    """arq forgets a finished cron job's id; the per-run Redis key still stops a late second copy."""
    calls: list[str] = []

    async def tick(ctx: dict[str, object]) -> None:
        calls.append(str(ctx["job_id"]))

    job = periodic_job(COMPONENT, "late", tick, {"second": None}, timedelta(seconds=5))
    ctx = {"redis": redis, "job_id": "gaap:jobstest:periodic:late:1700000000123"}
    await job.coroutine(dict(ctx))
    await job.coroutine(dict(ctx))
    await job.coroutine({**ctx, "job_id": "gaap:jobstest:periodic:late:1700000001123"})
    assert len(calls) == 2


async def test_probe_server_answers_health_readiness_and_metrics(db: Database, db_url: str, redis_url: str) -> None:
    seen: dict[str, object] = {}

    async def remember(ctx: dict[str, object]) -> None:
        ctx["db"] = Database(db_url)
        seen["ctx"] = ctx

    async def get(port: int, path: str) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: worker\r\n\r\n".encode())
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split()[1]), body

    async def noop(ctx: dict[str, object], ident: str) -> None:
        return None

    spec = WorkerSpec(COMPONENT, redis_url, {"default": 1}, [noop], on_startup=remember, probe_port=0)
    async with running(spec):
        await eventually(lambda: "probe_port" in seen.get("ctx", {}))  # type: ignore[operator]
        port = seen["ctx"]["probe_port"]  # type: ignore[index]
        assert await get(port, "/healthz") == (200, b'{"status":"ok"}')
        status, body = await get(port, "/readyz")
        assert (status, orjson.loads(body)["checks"]) == (200, {"redis": "ok", "database": "ok"})
        status, body = await get(port, "/metrics")
        assert status == 200
        assert b"gaap_jobs_enqueued_total" in body
        assert (await get(port, "/nope"))[0] == 404
    await seen["ctx"]["db"].dispose()  # type: ignore[index]


async def test_sigterm_stops_every_lane_cleanly(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        "import os\n"
        "from gaap.jobs import WorkerSpec, run_worker\n"
        "async def noop(ctx, ident): pass\n"
        "async def started(ctx): print('started', flush=True)\n"
        f"spec = WorkerSpec({COMPONENT!r}, os.environ['URL'], {{'default': 2, 'bulk': 1}}, [noop],"
        " on_startup=started)\n"
        "run_worker(spec)\n"
        "print('stopped', flush=True)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cwd=REPO,
        env={**os.environ, "URL": redis_url, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(15):
        while (line := await proc.stdout.readline()) != b"started\n":
            assert line, "the worker exited before starting"
    health_keys = [f"{queue_name(COMPONENT, lane)}:health-check" for lane in ("default", "bulk")]
    async with asyncio.timeout(10):
        while await redis.exists(*health_keys) < 2:  # noqa: ASYNC110  (both lanes polling)
            await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert out.splitlines()[-1] == b"stopped", out.decode()
    assert await redis.exists(*health_keys) == 0  # each lane closed and removed its health key


async def test_lanes_come_back_by_themselves_after_a_redis_outage(redis: Redis, redis_url: str) -> None:
    proxy = FlakyProxy(int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.up()
    done: list[str] = []

    async def record(ctx: dict[str, object], ident: str) -> None:
        done.append(ident)

    direct = JobQueue.from_redis(redis, COMPONENT)
    spec = WorkerSpec(
        COMPONENT, f"redis://127.0.0.1:{proxy.port}/{redis_url.rsplit('/', 1)[1]}", {"default": 1}, [record]
    )
    async with running(spec):
        await direct.enqueue("record", "before", lane="default")
        await eventually(lambda: done == ["before"])
        await proxy.down()
        await asyncio.sleep(0.5)  # the lane's poll fails and the runner schedules a rebuild
        await proxy.up()
        await direct.enqueue("record", "after", lane="default")
        await eventually(lambda: done == ["before", "after"], within=10)
    await proxy.down()


class _ClosingWithCancelledJobs:
    """Stands in for an arq Worker whose close() re-raises the cancellation of jobs it started after being told to
    stop (what arq does when a fetched batch is still starting)."""

    queue_name = "gaap:test:lane"
    allow_pick_jobs = True
    tasks: dict[str, asyncio.Task[None]] = {}

    async def close(self) -> None:
        raise asyncio.CancelledError()


async def test_stopping_a_lane_survives_jobs_cancelled_by_arqs_close() -> None:
    from gaap.jobs.worker import _stop_worker

    run = asyncio.ensure_future(asyncio.sleep(3600))
    await _stop_worker(_ClosingWithCancelledJobs(), run, 0)  # type: ignore[arg-type]
    assert run.cancelled()


async def test_stopping_a_lane_still_lets_its_own_cancellation_through() -> None:
    from gaap.jobs.worker import _stop_worker

    started = asyncio.Event()

    class SlowClose(_ClosingWithCancelledJobs):
        async def close(self) -> None:
            started.set()
            await asyncio.sleep(3600)

    stopping = asyncio.ensure_future(_stop_worker(SlowClose(), asyncio.ensure_future(asyncio.sleep(0)), 0))  # type: ignore[arg-type]
    await started.wait()
    stopping.cancel()
    with suppress(asyncio.CancelledError):
        await stopping
    assert stopping.cancelled()


async def test_gaap_worker_serves_its_probes_on_the_port_asked_for(redis_url: str, tmp_path: Path) -> None:
    """What Kubernetes and compose rely on: `gaap worker <role> --probe-port N` answers /healthz and /readyz."""
    import httpx

    from gaap.embedded.ports import free_port

    port = free_port()
    env = {
        **os.environ,
        "GAAP_ENV": "development",
        "GAAP_DATA_DIR": str(tmp_path),
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        "GATEWAY_REDIS_URL": redis_url,
    }
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gaap.cli.main", "migrate", "gateway", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(migrate.communicate(), 60)
    assert migrate.returncode == 0, err.decode()[-2000:]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gaap.cli.main", "worker", "gateway", "--probe-port", str(port), cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
            async with asyncio.timeout(30):
                while True:
                    try:
                        ready = await client.get("/readyz")
                    except httpx.TransportError:
                        assert proc.returncode is None, "the worker exited"
                        await asyncio.sleep(0.1)
                        continue
                    if ready.status_code == 200:
                        break
                    await asyncio.sleep(0.1)
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert ready.json()["status"] == "ready"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()[-2000:]
