"""notify spec §16.5: an email or text still `sending` or `pending` 72 hours after it was created becomes
`temporary-failure`.

A provider that took a message but never sent its receipt leaves the row waiting forever otherwise. GOV.UK runs
this nightly; notify runs it hourly (`Cron("timeout-sending")` in the worker), in batches, each one conditional
UPDATE that re-checks the status, so a receipt arriving meanwhile wins and a final status never moves back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from gaap.db.engine import Database
from gaap.logging import get_logger
from services.notify.delivery.providers import Ctx, clock
from services.notify.notifications.models import Notification

log = get_logger("notify.delivery")

SENDING_TIMEOUT = timedelta(seconds=259_200)
#: Letters have their own life (print confirmation); only these channels wait on a provider's receipt.
TIMED_OUT_TYPES = ("email", "sms")
WAITING = ("sending", "pending")
TIMED_OUT = "temporary-failure"
BATCH = 1_000


async def time_out_waiting(db: Database, *, now: datetime, batch: int = BATCH) -> int:
    """Move every row past the timeout to `temporary-failure`; returns how many moved."""
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
            if ids:
                result = await session.execute(
                    update(Notification)
                    .where(Notification.id.in_(ids), Notification.status.in_(WAITING))
                    .values(status=TIMED_OUT, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                moved += cast(CursorResult[Any], result).rowcount
        if len(ids) < batch:
            break
    if moved:
        log.info("notify.delivery.timed_out", count=moved)
    return moved


async def timeout_job(ctx: Ctx) -> None:
    """The hourly cron job."""
    await time_out_waiting(ctx["db"], now=clock(ctx))
