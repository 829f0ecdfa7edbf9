"""Durable jobs against real Redis and real PostgreSQL and SQLite: leases, the queue, the sweeper.

The worker runner (lanes, periodic jobs, shutdown) is covered in test_jobs_worker.py, which reuses the model
and fixtures defined here (the fixtures are registered under `name=` so importing them shadows nothing).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db import Base, Database, utcnow
from gaap.db.base import new_metadata
from gaap.db.types import GUID
from gaap.jobs import (
    JobQueue,
    LeasedWork,
    Sweep,
    claim,
    every_to_cron,
    job_id,
    queue_name,
    retry_at,
    sweep_once,
    transition,
    worker_ready,
)

COMPONENT = "jobstest"
LEASE = timedelta(seconds=30)


class _Base(Base):
    __abstract__ = True
    metadata = new_metadata()


class WorkItem(_Base, LeasedWork):
    """A unit of work as a component would model it; `effects` counts the side effect to do exactly once."""

    __tablename__ = "work_items"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20), default="created", nullable=False)
    effects: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


def sweep_for(task: str = "process", *, every: timedelta = timedelta(minutes=1)) -> Sweep:
    return Sweep(
        name="items",
        model=WorkItem,
        statuses=("created",),
        task=task,
        lane="default",
        grace=timedelta(seconds=2),
        every=every,
    )


@pytest.fixture(scope="session", name="postgres_url")
def postgres_url_fixture(make_postgres_database: object) -> str:
    return make_postgres_database("jobs")  # type: ignore[operator]


@pytest.fixture(params=["sqlite", "postgresql"], name="db_url")
def db_url_fixture(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """One test per database. A sync fixture: the PostgreSQL factory runs its own event loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/jobs.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(name="db")
async def db_fixture(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=20)
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(name="jobs")
async def jobs_fixture(redis: Redis, redis_url: str) -> AsyncIterator[JobQueue]:
    queue = JobQueue.from_url(redis_url, COMPONENT)
    try:
        yield queue
    finally:
        await queue.close()


async def add_items(db: Database, n: int = 1, **values: object) -> list[uuid.UUID]:
    items = [WorkItem(**values) for _ in range(n)]
    async with db.write_session() as session:
        session.add_all(items)
        await session.flush()
    return [item.id for item in items]


async def get_item(db: Database, ident: uuid.UUID) -> WorkItem:
    async with db.read_session() as session:
        item = (await session.execute(select(WorkItem).where(WorkItem.id == ident))).scalar_one()
        session.expunge(item)  # a read session rolls back, which would expire the loaded attributes
        return item


async def queued_ids(redis: Redis, lane: str = "default") -> list[str]:
    return [m.decode() for m in await redis.zrange(queue_name(COMPONENT, lane), 0, -1)]


def sample(metric: str, /, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


class FlakyProxy:
    """A TCP proxy in front of Redis that can be switched off: it refuses new connections and cuts live ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, RuntimeError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


# --- leases ----------------------------------------------------------------------------------------------


async def test_claim_takes_the_lease_exactly_once_under_concurrency(db: Database, db_url: str) -> None:
    [ident] = await add_items(db)
    # Several engines (own pools, own connections) on SQLite, as several worker processes would have.
    databases = [Database(db_url, pool_size=5) for _ in range(4)] if db.sqlite else [db]

    async def claimer(i: int) -> WorkItem | None:
        async with databases[i % len(databases)].write_session() as session:
            return await claim(session, WorkItem, ident, expected_status="created", lease=LEASE)

    try:
        results = await asyncio.gather(*(claimer(i) for i in range(20)))
    finally:
        for other in databases:
            if other is not db:
                await other.dispose()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].attempt == 1
    row = await get_item(db, ident)
    assert row.attempt == 1
    assert row.next_attempt_at > utcnow() + LEASE - timedelta(seconds=5)

    # Once the lease has expired the row can be claimed again, and the attempt counts up.
    async with db.write_session() as session:
        again = await claim(session, WorkItem, ident, expected_status="created", lease=LEASE, now=utcnow() + LEASE * 2)
    assert again is not None
    assert again.attempt == 2


async def test_claim_ignores_other_statuses_and_rows_not_yet_due(db: Database) -> None:
    [done] = await add_items(db, status="done")
    [scheduled] = await add_items(db, next_attempt_at=utcnow() + timedelta(hours=1))
    async with db.write_session() as session:
        assert await claim(session, WorkItem, done, expected_status="created", lease=LEASE) is None
        assert await claim(session, WorkItem, scheduled, expected_status="created", lease=LEASE) is None
        assert await claim(session, WorkItem, uuid.uuid4(), expected_status="created", lease=LEASE) is None


async def test_transition_and_retry_at_are_conditional_and_fenced_by_attempt(db: Database) -> None:
    [ident] = await add_items(db)
    async with db.write_session() as session:
        first = await claim(session, WorkItem, ident, expected_status="created", lease=LEASE)
    assert first is not None
    # The lease runs out while the first worker is still busy; a second worker claims the row.
    async with db.write_session() as session:
        second = await claim(session, WorkItem, ident, expected_status="created", lease=LEASE, now=utcnow() + LEASE * 2)
    assert second is not None

    async with db.write_session() as session:
        stale = await transition(
            session, WorkItem, ident, from_status="created", to_status="done", expected_attempt=first.attempt
        )
        stale_retry = await retry_at(
            session,
            WorkItem,
            ident,
            status="created",
            when=utcnow(),
            error="x",
            expected_attempt=first.attempt,
        )
    assert (stale, stale_retry) == (False, False)

    when = utcnow() + timedelta(minutes=5)
    async with db.write_session() as session:
        assert await retry_at(
            session,
            WorkItem,
            ident,
            status="created",
            when=when,
            error="provider timeout",
            expected_attempt=2,
        )
    assert abs((await get_item(db, ident)).next_attempt_at - when) < timedelta(milliseconds=1)

    async with db.write_session() as session:
        moved = await transition(
            session,
            WorkItem,
            ident,
            from_status=("created", "sending"),
            to_status="done",
            expected_attempt=second.attempt,
            effects=WorkItem.effects + 1,
        )
        again = await transition(session, WorkItem, ident, from_status="created", to_status="done")
    assert (moved, again) == (True, False)
    row = await get_item(db, ident)
    assert (row.status, row.effects) == ("done", 1)


# --- queue and sweeper -----------------------------------------------------------------------------------


async def test_enqueue_deduplicates_by_job_id_and_defers(jobs: JobQueue, redis: Redis) -> None:
    ident = str(uuid.uuid4())
    assert await jobs.enqueue("process", ident, lane="default")
    assert await jobs.enqueue("process", ident, lane="default")  # already queued: a no-op, still True
    due = utcnow() + timedelta(minutes=5)
    assert await jobs.enqueue("process", ident, lane="default", defer_until=due)
    expected = {job_id(COMPONENT, "process", ident), job_id(COMPONENT, "process", ident, defer_until=due)}
    assert set(await queued_ids(redis)) == expected
    deferred = job_id(COMPONENT, "process", ident, defer_until=due)
    score = await redis.zscore(queue_name(COMPONENT, "default"), deferred)
    assert score is not None
    assert abs(score - due.timestamp() * 1000) <= 1


async def test_claimed_row_is_invisible_to_the_sweeper_until_its_lease_expires(
    db: Database, jobs: JobQueue, redis: Redis
) -> None:
    [ident] = await add_items(db, next_attempt_at=utcnow() - timedelta(minutes=10))  # long overdue
    [_done] = await add_items(db, status="done", next_attempt_at=utcnow() - timedelta(minutes=10))
    async with db.write_session() as session:
        assert await claim(session, WorkItem, ident, expected_status="created", lease=LEASE)

    sweep = sweep_for()
    assert await sweep_once(db, jobs, sweep) == 0
    assert await queued_ids(redis) == []

    after_lease = utcnow() + LEASE + sweep.grace + timedelta(seconds=1)
    assert await sweep_once(db, jobs, sweep, now=after_lease) == 1
    assert await sweep_once(db, jobs, sweep, now=after_lease) == 1  # handed over again, but de-duplicated
    assert await queued_ids(redis) == [job_id(COMPONENT, "process", ident)]


async def test_sweep_pages_through_a_backlog(db: Database, jobs: JobQueue, redis: Redis) -> None:
    past = utcnow() - timedelta(minutes=10)
    idents = await add_items(db, 7, next_attempt_at=past)  # same due time: pages must break ties on id
    sweep = Sweep("items", WorkItem, ["created"], "process", "default", timedelta(seconds=2), batch=3)
    assert await sweep_once(db, jobs, sweep) == 7
    assert sorted(await queued_ids(redis)) == sorted(job_id(COMPONENT, "process", i) for i in idents)


async def test_enqueue_with_redis_down_returns_false_and_the_sweeper_requeues_later(
    db: Database, redis: Redis, redis_url: str
) -> None:
    target_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = FlakyProxy(target_port)
    await proxy.up()
    jobs = JobQueue.from_url(f"redis://127.0.0.1:{proxy.port}/{redis_url.rsplit('/', 1)[1]}", COMPONENT)
    try:
        assert await jobs.enqueue("process", "warm-up", lane="other")  # the pool holds a live connection
        await proxy.down()
        [ident] = await add_items(db)
        failed_before = sample("gaap_jobs_enqueue_failed_total", queue=queue_name(COMPONENT, "default"))
        started = time.monotonic()
        assert await jobs.enqueue("process", ident, lane="default") is False
        assert await jobs.enqueue("process", ident, lane="default") is False  # a fresh connection is refused
        assert time.monotonic() - started < 3
        assert sample("gaap_jobs_enqueue_failed_total", queue=queue_name(COMPONENT, "default")) == failed_before + 2
        assert await sweep_once(db, jobs, sweep_for(), now=utcnow() + timedelta(minutes=1)) == 0
        assert await queued_ids(redis) == []

        await proxy.up()  # Redis is back: the same queue object recovers, and the sweeper finds the row
        assert await sweep_once(db, jobs, sweep_for(), now=utcnow() + timedelta(minutes=1)) == 1
        assert await sweep_once(db, jobs, sweep_for(), now=utcnow() + timedelta(minutes=1)) == 1
        assert await queued_ids(redis) == [job_id(COMPONENT, "process", ident)]
    finally:
        await jobs.close()
        await proxy.down()


async def test_worker_ready_needs_database_and_redis(db: Database, redis: Redis) -> None:
    assert await worker_ready(db, redis, component=COMPONENT)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        assert not await worker_ready(db, dead, component=COMPONENT)
    finally:
        await dead.aclose()
    assert sample("gaap_dependency_up", component=COMPONENT, dependency="redis") == 0


def test_every_to_cron_aligns_to_the_clock() -> None:
    assert every_to_cron(timedelta(seconds=1)) == {"second": None}
    assert every_to_cron(timedelta(seconds=15)) == {"second": {0, 15, 30, 45}}
    assert every_to_cron(timedelta(minutes=1)) == {"minute": None, "second": 0}
    assert every_to_cron(timedelta(minutes=20)) == {"minute": {0, 20, 40}, "second": 0}
    assert every_to_cron(timedelta(hours=1)) == {"hour": None, "minute": 0, "second": 0}
    assert every_to_cron(timedelta(days=1)) == {"hour": {0}, "minute": 0, "second": 0}
    for bad in (timedelta(seconds=7), timedelta(minutes=7), timedelta(milliseconds=500), timedelta(days=2)):
        with pytest.raises(ValueError):
            every_to_cron(bad)
