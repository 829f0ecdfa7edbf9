"""Group commit: rows inserted by concurrent requests share one INSERT statement and one COMMIT.

A request that must answer only once its row is durable (ARCHITECTURE rule 1) would otherwise pay for a connection
checkout, a transaction and a commit of its own, and the database for one commit per row. `GroupCommit.insert`
queues the row and waits; one drain task per process takes everything queued so far, inserts it in one transaction
(one multi-row INSERT per shape of row) and commits, then wakes every waiter. Nothing waits for a timer: a lone
request is written at once, and under load a batch is whatever arrived while the previous one was committing, so
batches grow with concurrency and latency stays about one commit.

The drain keeps one connection of the pool for itself: checking one out per batch would cost the pool's check
(a round trip) every time. Without that check, a held connection may have died while idle (the
database restarted): a batch whose connection turns out dead is written again, once, on a fresh one.

A batch that fails is retried row by row, so one bad row fails only its own request. `after_commit` runs with the
committed rows before their requests are woken (for work the answer depends on, such as counters); work that may
lag (telling a queue) belongs in a task it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from gaap.db.engine import Database
from gaap.logging import get_logger

log = get_logger("gaap.db.batch")

Row = dict[str, Any]
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


class GroupCommit:
    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        max_rows: int = 500,
        after_commit: Callable[[list[Row]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.table = table
        self.max_rows = max_rows
        self.after_commit = after_commit
        self._queued: list[tuple[Row, asyncio.Future[None]]] = []
        self._drain: asyncio.Task[None] | None = None
        self.held = HeldConnection(db)

    async def insert(self, row: Row) -> None:
        """Return once `row` is committed; raise what inserting it alone raised if it could not be."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((row, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run(), name=f"group-commit:{self.table.name}")
        # Shielded: a request that goes away (client disconnect) must not cancel the drain its batch is in.
        await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what is queued, then give the connection back (at shutdown)."""
        if self._drain is not None:
            with contextlib.suppress(Exception):
                await self._drain
        await self.held.close()

    async def _run(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[: self.max_rows], self._queued[self.max_rows :]
            try:
                await self._write([row for row, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    await self._settle(batch, exc)
                    continue
                for entry in batch:  # one bad row must fail only its own request
                    try:
                        await self._write([entry[0]])
                    except Exception as alone:
                        await self._settle([entry], alone)
                    else:
                        await self._settle([entry], None)
            else:
                await self._settle(batch, None)

    async def _write(self, rows: list[Row]) -> None:
        shapes: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(row)

        async def insert(conn: AsyncConnection) -> None:
            for same in shapes.values():
                await conn.execute(self.table.insert(), same)

        await self.held.transaction(insert)

    async def _settle(self, batch: list[tuple[Row, asyncio.Future[None]]], error: Exception | None) -> None:
        if error is None and self.after_commit is not None:
            try:
                await self.after_commit([row for row, _ in batch])
            except Exception:  # the rows are committed: their requests succeed whatever happens here
                log.exception("group_commit.after_commit_failed", table=self.table.name)
        for _row, future in batch:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
