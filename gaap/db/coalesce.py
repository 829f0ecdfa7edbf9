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
fails every caller with the error, as their own transactions would have.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gaap.db.batch import HeldConnection
from gaap.db.engine import Database

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Does a batch in the session it is given (committed after it returns): one result per item, in order.
BatchFunction = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Result]]]


class Coalescer(Generic[Item, Result]):
    def __init__(self, db: Database, run: BatchFunction[Item, Result], *, name: str, max_items: int = 200) -> None:
        self.db = db
        self.run = run
        self.name = name
        self.max_items = max_items
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
                for item, future in batch:  # one bad item must fail only its own caller
                    try:
                        [result] = await self._write([item])
                    except Exception as alone:
                        _fail(future, alone)
                    else:
                        _succeed(future, result)
            else:
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
