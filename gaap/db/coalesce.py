"""Coalescing: small units of work submitted by concurrent tasks, done together in one transaction.

A worker process runs dozens of jobs at once, and each used to take a pooled connection (and its check at checkout: a
round trip), open a transaction, run one short statement and commit, several times per job. A
`Coalescer` takes what concurrent tasks `submit` and hands everything queued so far to one function that does it
in one session, on a connection the coalescer keeps (`HeldConnection`: no checkout, no check): one transaction,
statements that each cover the whole batch where the work allows (an `UPDATE ... WHERE id IN (...)`), one commit.
As with `GroupCommit`, nothing waits for a timer: a lone item is
done at once, and under load a batch is whatever arrived while the previous one was being written, so batches grow
with concurrency and each caller still waits about one transaction.

A batch that fails is done again item by item, so one bad item fails only its own caller, and a database outage
fails every caller with the error, as their own transactions would have. `after_commit` runs with the items just
committed before their callers are woken, for work their answers depend on; what it raises is logged, since the
items are committed whatever it does. `gaap.db.batch.GroupCommit` is a coalescer of inserts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gaap.db.engine import Database
from gaap.logging import get_logger

log = get_logger("gaap.db.coalesce")

Item = TypeVar("Item")
Result = TypeVar("Result")
T = TypeVar("T")


class HeldConnection:
    """A connection a drain task keeps for itself, so that a batch costs no checkout and no check (a round
    trip). Without that check, the connection may have died while idle (the database restarted): a
    transaction whose connection turns out dead is run again, once, on a fresh one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: AsyncConnection | None = None

    async def transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work(conn)` inside one transaction, committed when it returns."""
        for attempt in (1, 2):
            if self.conn is None or self.conn.closed or self.conn.invalidated:
                self.conn = await self.db.engine.connect()
            conn = self.conn
            try:
                async with conn.begin():
                    return await work(conn)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                await self.close()  # the database went away, or restarted since the last batch
                if attempt == 2:
                    raise
            except BaseException:  # in an unknown state (cancelled mid-statement): never reuse it
                await self.close()
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


#: Does a batch in the session it is given (committed after it returns): one result per item, in order.
BatchFunction = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Result]]]


class Coalescer(Generic[Item, Result]):
    def __init__(
        self,
        db: Database,
        run: BatchFunction[Item, Result],
        *,
        name: str,
        max_items: int = 200,
        after_commit: Callable[[list[Item]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.run = run
        self.name = name
        self.max_items = max_items
        self.after_commit = after_commit
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drain: asyncio.Task[None] | None = None
        self.held = HeldConnection(db)

    async def submit(self, item: Item) -> Result:
        """Return `item`'s result once its batch has committed; raise what doing it alone raised if it failed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((item, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run_queued(), name=f"coalesce:{self.name}")
        # Shielded: a caller cancelled mid-batch (a job timeout) must not cancel the batch the others are in.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what is queued, then give the connection back (at shutdown)."""
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await self._drain
        await self.held.close()

    async def _run_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[: self.max_items], self._queued[self.max_items :]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0][1], exc)
                    continue
                for entry in batch:  # one bad item must fail only its own caller
                    try:
                        [result] = await self._write([entry[0]])
                    except Exception as alone:
                        _fail(entry[1], alone)
                    else:
                        await self._settle([entry], [result])
            else:
                await self._settle(batch, results)

    async def _settle(self, batch: list[tuple[Item, asyncio.Future[Result]]], results: Sequence[Result]) -> None:
        if self.after_commit is not None:
            try:
                await self.after_commit([item for item, _ in batch])
            except Exception:  # committed: their callers succeed whatever happens here
                log.exception("coalesce.after_commit_failed", name=self.name)
        for (_item, future), result in zip(batch, results, strict=True):
            _succeed(future, result)

    async def _write(self, items: list[Item]) -> Sequence[Result]:
        async def work(conn: AsyncConnection) -> Sequence[Result]:
            async with AsyncSession(bind=conn, expire_on_commit=False, autoflush=False) as session:
                results = await self.run(session, items)
                await session.flush()
            if len(results) != len(items):  # a bug in `run`: roll back rather than answer callers wrongly
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(items)} items")
            return results

        return await self.held.transaction(work)


def _succeed(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Result], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
