"""notify spec §16.5: an email or text still `sending` or `pending` 72 hours after it was created becomes
`temporary-failure`.

A provider that took a message but never sent its receipt leaves the row waiting forever otherwise. GOV.UK runs
this nightly; notify runs it hourly (`Cron("timeout-sending")` in the worker), in batches, each one conditional
UPDATE that re-checks the status, so a receipt arriving meanwhile wins and a final status never moves back. Each
row that moves owes its callback (§14), recorded in the same transaction and queued once it is committed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from gaap.db.engine import Database
from gaap.logging import get_logger
from services.notify.callbacks import outbox as callbacks
from services.notify.delivery.providers import Ctx, clock
from services.notify.notifications.models import Notification

log = get_logger("notify.delivery")

SENDING_TIMEOUT = timedelta(seconds=259_200)
#: Letters have their own life (print confirmation); only these channels wait on a provider's receipt.
TIMED_OUT_TYPES = ("email", "sms")
WAITING = ("sending", "pending")
TIMED_OUT = "temporary-failure"
BATCH = 1_000


async def time_out_waiting(
    db: Database, *, now: datetime, batch: int = BATCH, jobs: callbacks.Enqueuer | None = None
) -> int:
    """Move every row past the timeout to `temporary-failure`; returns how many moved. With `jobs`, the callbacks
    they owe are queued after each batch's commit (else the callbacks sweep relays them)."""
    cutoff = now - SENDING_TIMEOUT
    overdue = (
        select(Notification.id)
        .where(
            Notification.notification_type.in_(TIMED_OUT_TYPES),
            Notification.status.in_(WAITING),
            Notification.created_at < cutoff,
        )
        .order_by(Notification.created_at)
        .limit(batch)
    )
    moved = 0
    while True:
        async with db.write_session() as session:
            ids = list((await session.scalars(overdue)).all())
            owed: list[uuid.UUID] = []
            if ids:
                result = await session.execute(
                    update(Notification)
                    .where(Notification.id.in_(ids), Notification.status.in_(WAITING))
                    .values(status=TIMED_OUT, updated_at=now)
                    .returning(Notification.id)
                    .execution_options(synchronize_session=False)
                )
                timed_out = list(result.scalars())
                moved += len(timed_out)
                owed = await callbacks.record(session, *timed_out)
        if jobs is not None:
            await callbacks.queue(jobs, owed)
        if len(ids) < batch:
            break
    if moved:
        log.info("notify.delivery.timed_out", count=moved)
    return moved


async def timeout_job(ctx: Ctx) -> None:
    """The hourly cron job."""
    await time_out_waiting(ctx["db"], now=clock(ctx), jobs=ctx.get("jobs"))
