"""Group commit: rows inserted by concurrent requests share one INSERT statement and one COMMIT.

A request that must answer only once its row is durable (ARCHITECTURE rule 1) would otherwise pay for a connection
checkout, a transaction and a commit of its own, and the database for one commit per row. `GroupCommit.insert`
queues the row and waits; one drain task per process takes everything queued so far, inserts it in one transaction
(one multi-row INSERT per shape of row) and commits, then wakes every waiter. Nothing waits for a timer: a lone
request is written at once, and under load a batch is whatever arrived while the previous one was committing, so
batches grow with concurrency and latency stays about one commit.

It is a `gaap.db.coalesce.Coalescer` of inserts: the drain keeps a connection of its own (no checkout and no check
a batch; one that died while idle is replaced once), a batch that fails is retried row by row so one bad row fails
only its own request, and `after_commit` runs with the committed rows before their requests are woken (for work the
answer depends on, such as counters); work that may lag (telling a queue) belongs in a task it starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.coalesce import Coalescer, HeldConnection
from gaap.db.engine import Database

Row = dict[str, Any]


class GroupCommit:
    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        max_rows: int = 500,
        after_commit: Callable[[list[Row]], Awaitable[None]] | None = None,
    ) -> None:
        self.table = table
        self._rows: Coalescer[Row, None] = Coalescer(
            db, self._insert, name=f"group-commit:{table.name}", max_items=max_rows, after_commit=after_commit
        )

    @property
    def held(self) -> HeldConnection:
        return self._rows.held

    async def insert(self, row: Row) -> None:
        """Return once `row` is committed; raise what inserting it alone raised if it could not be."""
        await self._rows.submit(row)

    async def close(self) -> None:
        """Finish what is queued, then give the connection back (at shutdown)."""
        await self._rows.close()

    async def _insert(self, session: AsyncSession, rows: Sequence[Row]) -> list[None]:
        """One multi-row INSERT per shape of row."""
        shapes: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(row)
        for same in shapes.values():
            await session.execute(self.table.insert(), same)
        return [None] * len(rows)
