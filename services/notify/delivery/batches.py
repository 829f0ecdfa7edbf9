"""The delivery worker's two writes per message, coalesced across the jobs a worker runs at once
(`gaap.db.coalesce`): the claim before the hand-over, and the move to `sending` after it.

One claim statement takes the lease on every row asked for since the last one (`UPDATE ... WHERE id IN (...)
RETURNING *`, with the services' `active` flags read in the same transaction), and the hand-overs reported
meanwhile are recorded in one transaction, each still its own fenced conditional update. Per message that
replaced a read, two pooled checkouts with their pre-pings, and two commits (docs/notify.md, "Delivery").

The rules are those of `gaap.jobs.leases.claim` and `transition`, unchanged: a row is claimed only in `created`,
only when due, and only once however often its id is asked for in one batch (a job delivered twice); a hand-over
is recorded only if no later claim has superseded ours (`expected_attempt`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import or_, select, update

from gaap.db.coalesce import Coalescer
from gaap.db.engine import Database
from gaap.jobs import transition
from services.notify.callbacks import outbox as callbacks
from services.notify.delivery.providers import Ctx, clock
from services.notify.notifications.models import FINAL_STATUSES, Notification
from services.notify.tenancy.models import NotifyService

#: The ctx keys of the two coalescers: made at the worker's start, before its lanes copy the ctx, so the lanes share
#: them (two held connections per process); made on first use in a ctx that has none (a test's).
CLAIMS = "delivery_claims"
HANDOVERS = "delivery_handovers"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker now holds the lease on, and whether its service is active."""

    notification: Notification
    service_active: bool


@dataclass(frozen=True, slots=True)
class Handover:
    """A hand-over to record: move `ident` from `created` to `status` with `values`, if `attempt` is still ours."""

    ident: str
    attempt: int
    status: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recorded:
    """Whether the hand-over was recorded, and the delivery-status callbacks it owes (a final status only)."""

    moved: bool
    owed: list[uuid.UUID]


async def claim_many(
    ctx: Ctx, claimable: Sequence[str], lease: Any, session: Any, idents: Sequence[str]
) -> list[Claimed | None]:
    """Take the lease on each of `idents` that is `created`, due, and of a channel in `claimable` (or a test key's);
    None for the others, and for every repeat of an id within the batch."""
    now = clock(ctx)
    wanted = list({uuid.UUID(ident) for ident in idents})
    taken = await session.execute(
        update(Notification)
        .where(
            Notification.id.in_(wanted),
            Notification.status == "created",
            Notification.next_attempt_at <= now,
            or_(Notification.key_type == "test", Notification.notification_type.in_(list(claimable))),
        )
        .values(attempt=Notification.attempt + 1, next_attempt_at=now + lease)
        .returning(Notification)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    rows: dict[uuid.UUID, Notification] = {n.id: n for n in taken.scalars()}
    active: dict[uuid.UUID, bool] = {}
    if rows:
        services = {n.service_id for n in rows.values()}
        found = await session.execute(
            select(NotifyService.id, NotifyService.active).where(NotifyService.id.in_(list(services)))
        )
        active = {row.id: row.active for row in found}
    claims: list[Claimed | None] = []
    for ident in idents:
        row = rows.pop(uuid.UUID(ident), None)  # popped: a repeat of the id in this batch gets nothing
        claims.append(None if row is None else Claimed(row, active.get(row.service_id, False)))
    return claims


async def record_many(session: Any, handovers: Sequence[Handover]) -> list[Recorded]:
    """Record each hand-over (fenced by its claim's attempt), owing the callback of a final status."""
    recorded: list[Recorded] = []
    for handover in handovers:
        moved = await transition(
            session,
            Notification,
            handover.ident,
            from_status="created",
            to_status=handover.status,
            expected_attempt=handover.attempt,
            **handover.values,
        )
        owed = await callbacks.record(session, handover.ident) if moved and handover.status in FINAL_STATUSES else []
        recorded.append(Recorded(moved, owed))
    return recorded


def claims(ctx: Ctx, claimable: Sequence[str], lease: Any) -> Coalescer[str, Claimed | None]:
    """This ctx's claim coalescer, made on first use."""
    found: Coalescer[str, Claimed | None] | None = ctx.get(CLAIMS)
    if found is None:
        db: Database = ctx["db"]
        found = ctx[CLAIMS] = Coalescer(db, partial(claim_many, ctx, tuple(claimable), lease), name="notify-claims")
    return found


def handovers(ctx: Ctx) -> Coalescer[Handover, Recorded]:
    """This ctx's hand-over coalescer, made on first use."""
    found: Coalescer[Handover, Recorded] | None = ctx.get(HANDOVERS)
    if found is None:
        db: Database = ctx["db"]
        found = ctx[HANDOVERS] = Coalescer(db, record_many, name="notify-handovers")
    return found


def install(ctx: Ctx, claimable: Sequence[str], lease: Any) -> None:
    """Make both coalescers in the worker's ctx, before its lanes copy it."""
    claims(ctx, claimable, lease)
    handovers(ctx)


async def close(ctx: Ctx) -> None:
    """Finish what is queued and give their connections back (at shutdown, before the database is disposed)."""
    for key in (CLAIMS, HANDOVERS):
        if key in ctx:
            await ctx[key].close()
