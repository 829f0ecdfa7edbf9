"""Storing accepted notifications: group commit, then today's counters, then the queue.

Concurrent sends share one INSERT and one COMMIT (`gaap.db.batch.GroupCommit`); each request is answered once its
row is committed, after the batch's daily counters are incremented (one Redis round trip per batch), so the next
request sees them. The delivery queue is told in a task of its own (one round trip per batch), as a doorbell: if
that fails, the rows are committed and the worker's sweeper queues them.

Sends with an `Idempotency-Key` do not come here: their row is written in the request's own transaction, together
with the key's record (see the endpoints).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gaap.db.batch import GroupCommit, Row
from gaap.db.engine import Database
from gaap.jobs import Enqueue, JobQueue
from services.notify.limits import counters as limits
from services.notify.notifications.models import Notification
from services.notify.notifications.service import lane_for

TABLE = Notification.__table__
COLUMNS = tuple(column.key for column in TABLE.columns)


def row_values(notification: Notification) -> Row:
    """The column values set on a new, unsaved notification (the table's defaults fill in the rest)."""
    state = notification.__dict__
    return {key: state[key] for key in COLUMNS if key in state}


class NotificationWriter:
    def __init__(self, db: Database, counts: limits.DailyCounts, jobs: JobQueue, *, task: str = "deliver") -> None:
        self.counts = counts
        self.jobs = jobs
        self.task = task
        self.group = GroupCommit(db, TABLE, after_commit=self._committed)  # type: ignore[arg-type]
        self._doorbells: set[asyncio.Task[Any]] = set()

    async def store(self, notification: Notification) -> None:
        """Return once the notification is committed and counted."""
        await self.group.insert(row_values(notification))

    async def _committed(self, rows: list[Row]) -> None:
        await self.counts.increment_many(limits.tally(rows))
        jobs = [
            Enqueue(self.task, row["id"], lane_for(row["key_type"], row["process_type"]), row.get("scheduled_for"))
            for row in rows
        ]
        bell = asyncio.create_task(self.jobs.enqueue_many(jobs))
        self._doorbells.add(bell)
        bell.add_done_callback(self._doorbells.discard)

    async def close(self) -> None:
        """Finish what is queued and let the last doorbells ring (at shutdown)."""
        await self.group.close()
        await asyncio.gather(*self._doorbells, return_exceptions=True)
