"""Group commit (`gaap.db.batch`), enqueueing many jobs in one round trip, and the per-process cache
(`gaap.cache`), on the real databases and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from arq.jobs import deserialize_job
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.cache import LocalCache, announce
from gaap.db import Database, utcnow
from gaap.db.batch import GroupCommit
from gaap.db.coalesce import Coalescer
from gaap.jobs import Enqueue, JobQueue, job_id, queue_name
from gaap.jobs.queue import loads
from tests.kernel.test_jobs import (  # noqa: F401  (fixtures, registered under their names)
    COMPONENT,
    WorkItem,
    db_fixture,
    db_url_fixture,
    jobs_fixture,
    postgres_url_fixture,
    queued_ids,
)

TABLE = WorkItem.__table__


@contextlib.asynccontextmanager
async def group_commit(db: Database, **options: Any) -> AsyncIterator[GroupCommit]:
    writer = GroupCommit(db, TABLE, **options)  # type: ignore[arg-type]
    try:
        yield writer
    finally:
        await writer.close()


async def count_rows(db: Database) -> int:
    async with db.read_session() as session:
        return int((await session.execute(select(func.count()).select_from(WorkItem))).scalar_one())


async def is_stored(db: Database, ident: uuid.UUID) -> bool:
    async with db.read_session() as session:
        return (await session.get(WorkItem, ident)) is not None


# --- group commit ----------------------------------------------------------------------------------------


async def test_concurrent_inserts_share_transactions_and_each_returns_once_committed(db: Database) -> None:
    batches: list[int] = []

    async def committed(rows: list[dict[str, object]]) -> None:
        batches.append(len(rows))

    async with group_commit(db, after_commit=committed) as writer:

        async def one() -> None:
            ident = uuid.uuid4()
            await writer.insert({"id": ident, "status": "created"})
            assert await is_stored(db, ident), "insert returned before its row was committed"

        await asyncio.gather(*(one() for _ in range(60)))
        assert await count_rows(db) == 60
        assert sum(batches) == 60
        assert len(batches) < 60, f"no batching happened: {batches}"


async def test_a_lone_insert_is_written_at_once(db: Database) -> None:
    batches: list[int] = []

    async def committed(rows: list[dict[str, object]]) -> None:
        batches.append(len(rows))

    async with group_commit(db, after_commit=committed) as writer:
        for _ in range(3):
            await writer.insert({"id": uuid.uuid4()})
        assert batches == [1, 1, 1]


async def test_a_bad_row_fails_only_its_own_request(db: Database) -> None:
    taken = uuid.uuid4()
    async with group_commit(db) as writer:
        await writer.insert({"id": taken})
        good = [uuid.uuid4() for _ in range(5)]
        outcomes = await asyncio.gather(
            *(writer.insert({"id": ident}) for ident in good[:2]),
            writer.insert({"id": taken}),  # a duplicate primary key
            *(writer.insert({"id": ident}) for ident in good[2:]),
            return_exceptions=True,
        )
        assert [isinstance(o, Exception) for o in outcomes] == [False, False, True, False, False, False]
        assert all([await is_stored(db, ident) for ident in good])
        assert await count_rows(db) == 6


async def test_rows_of_different_shapes_are_written_together(db: Database) -> None:
    async with group_commit(db) as writer:
        plain, with_status = uuid.uuid4(), uuid.uuid4()
        await asyncio.gather(writer.insert({"id": plain}), writer.insert({"id": with_status, "status": "done"}))
        async with db.read_session() as session:
            statuses = {row.id: row.status for row in await session.execute(select(WorkItem.id, WorkItem.status))}
        assert statuses == {plain: "created", with_status: "done"}  # the table's default filled the first


async def test_after_commit_runs_before_the_requests_are_answered(db: Database) -> None:
    seen: set[object] = set()

    async def committed(rows: list[dict[str, object]]) -> None:
        await asyncio.sleep(0.01)
        seen.update(row["id"] for row in rows)

    async with group_commit(db, after_commit=committed) as writer:
        ident = uuid.uuid4()
        await writer.insert({"id": ident})
        assert ident in seen


async def test_a_failing_after_commit_does_not_fail_committed_rows(db: Database) -> None:
    async def broken(rows: list[dict[str, object]]) -> None:
        raise RuntimeError("counters unavailable")

    async with group_commit(db, after_commit=broken) as writer:
        ident = uuid.uuid4()
        await writer.insert({"id": ident})
        assert await is_stored(db, ident)


# --- enqueue_many ----------------------------------------------------------------------------------------


async def test_enqueue_many_queues_each_job_once_in_its_lane_with_arqs_format(jobs: JobQueue, redis: Redis) -> None:
    first, second, deferred = (str(uuid.uuid4()) for _ in range(3))
    assert await jobs.enqueue("process", first, lane="default")  # already queued: left as it is
    due = utcnow() + timedelta(minutes=5)
    assert await jobs.enqueue_many(
        [
            Enqueue("process", first, "default"),
            Enqueue("process", second, "default"),
            Enqueue("process", deferred, "bulk", defer_until=due),
        ]
    )
    assert sorted(await queued_ids(redis)) == sorted(job_id(COMPONENT, "process", i) for i in (first, second))
    deferred_id = job_id(COMPONENT, "process", deferred, defer_until=due)
    assert await queued_ids(redis, "bulk") == [deferred_id]
    score = await redis.zscore(queue_name(COMPONENT, "bulk"), deferred_id)
    assert score is not None
    assert abs(score - due.timestamp() * 1000) <= 1
    raw = await redis.get(f"arq:job:{job_id(COMPONENT, 'process', second)}")
    assert raw is not None
    job = deserialize_job(raw, deserializer=loads)
    assert (job.function, list(job.args), job.kwargs, job.job_try) == ("process", [second], {}, None)
    assert 0 < await redis.pttl(f"arq:job:{deferred_id}") <= (5 * 60 + 86_400) * 1000


async def test_enqueue_many_without_redis_returns_false() -> None:
    queue = JobQueue.from_url("redis://127.0.0.1:1/0", COMPONENT)
    try:
        assert await queue.enqueue_many([Enqueue("process", "x", "default")]) is False
        assert await queue.enqueue_many([]) is True
    finally:
        await queue.close()


# --- LocalCache ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cache_loads_once_for_concurrent_misses_and_again_after_its_ttl() -> None:
    clock = Clock()
    cache = LocalCache(ttl=5, clock=clock)
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        await asyncio.sleep(0.01)
        return len(loads)

    assert await asyncio.gather(*(cache.get("k", load) for _ in range(10))) == [1] * 10
    clock.now += 4
    assert await cache.get("k", load) == 1
    clock.now += 2
    assert await cache.get("k", load) == 2


async def test_a_load_that_began_before_a_change_is_not_kept() -> None:
    cache = LocalCache(ttl=60)
    release = asyncio.Event()

    async def stale() -> str:
        await release.wait()
        return "old"

    pending = asyncio.create_task(cache.get("k", stale))
    await asyncio.sleep(0)
    cache.forget("k")  # the record changed while it was being read
    release.set()
    assert await pending == "old"

    async def fresh() -> str:
        return "new"

    assert await cache.get("k", fresh) == "new"


async def test_an_announcement_drops_the_entry_in_every_follower(redis: Redis) -> None:
    channel = f"gaap:test:{uuid.uuid4()}"
    cache = LocalCache(ttl=60)
    values = iter(["first", "second"])

    async def load() -> str:
        return next(values)

    following = asyncio.create_task(cache.follow(redis, channel, lambda raw: raw.decode()))
    try:
        for _ in range(100):  # until subscribed
            if (await redis.pubsub_numsub(channel))[0][1]:
                break
            await asyncio.sleep(0.02)
        assert await cache.get("k", load) == "first"
        await announce(redis, channel, b"k")
        for _ in range(100):
            if await cache.get("k", load) == "second":
                break
            await asyncio.sleep(0.02)
        assert await cache.get("k", load) == "second"
    finally:
        following.cancel()
        with pytest.raises(asyncio.CancelledError):
            await following


async def test_a_connection_that_died_while_idle_is_replaced(db: Database, db_url: str) -> None:
    if db.sqlite:
        pytest.skip("a file database has no server connection to lose")
    async with group_commit(db) as writer:
        await writer.insert({"id": uuid.uuid4()})
        assert writer.held.conn is not None
        raw = await writer.held.conn.get_raw_connection()
        backend = await raw.driver_connection.fetchval("SELECT pg_backend_pid()")  # type: ignore[union-attr]
        async with db.engine.connect() as admin:
            await admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")
        ident = uuid.uuid4()
        await writer.insert({"id": ident})  # the dead connection is noticed, dropped, and the batch written again
        assert await is_stored(db, ident)


# --- coalescing ------------------------------------------------------------------------------------------


async def test_concurrent_submissions_share_a_transaction_and_each_gets_its_own_result(db: Database) -> None:
    idents = [uuid.uuid4() for _ in range(40)]
    async with db.write_session() as session:
        session.add_all(WorkItem(id=ident, status="created") for ident in idents)
    batches: list[int] = []

    async def claim(session: AsyncSession, items: Sequence[uuid.UUID]) -> list[bool]:
        batches.append(len(items))
        taken = await session.execute(
            update(WorkItem)
            .where(WorkItem.id.in_(list(items)), WorkItem.status == "created")
            .values(status="claimed")
            .returning(WorkItem.id)
        )
        won = set(taken.scalars())
        return [ident in won for ident in items]

    claims = Coalescer(db, claim, name="test-claims")
    unknown = uuid.uuid4()
    try:
        results = await asyncio.gather(*(claims.submit(ident) for ident in [*idents, unknown]))
        assert results == [True] * 40 + [False]  # in the order submitted, each its own
        assert sum(batches) == 41 and len(batches) < 41, f"no coalescing happened: {batches}"
        assert await claims.submit(idents[0]) is False  # done, and committed: a second claim finds nothing
    finally:
        await claims.close()


async def test_a_failing_item_fails_only_its_own_caller(db: Database) -> None:
    async def store(session: AsyncSession, items: Sequence[str]) -> list[str]:
        for status in items:
            session.add(WorkItem(id=uuid.uuid4(), status=status))
            await session.flush()
            if status == "bad":
                raise ValueError("a bad item")  # after its row and its neighbours' were written: all rolled back
        return list(items)

    writes = Coalescer(db, store, name="test-writes")
    before = await count_rows(db)
    try:
        results = await asyncio.gather(*(writes.submit(s) for s in ["ok", "bad", "fine"]), return_exceptions=True)
    finally:
        await writes.close()
    assert results[0] == "ok" and results[2] == "fine"
    assert isinstance(results[1], ValueError)
    assert await count_rows(db) == before + 2
