"""Taking a notification from `created` to its final status (notify spec §16), one conditional update at a time.

The API commits the row and enqueues `deliver(id)` on the row's lane (`lane_for`). `deliver` looks the row up,
picks the sender for its key type and channel, claims it (a lease), lets the sender hand the message over with
no transaction open, and moves it to `sending` with a fenced conditional update. Every later change is
conditional too, so a job delivered twice, a sweep racing a worker, or a receipt that arrives twice changes
the row once (ARCHITECTURE rule 3).

Test keys never reach a provider (§3.3, §16.5): the simulator accepts every message at once, and a deferred
`simulate_receipt` job sets the outcome §3.5 gives the recipient a moment later, like a provider's receipt.

Real providers plug in per channel through `PROVIDERS`. Until a channel has one, `deliver` leaves its live and
team rows exactly as they are (`created`, unclaimed, due): nothing has been tried, so nothing has failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Sweep, claim, transition
from gaap.logging import get_logger
from services.notify.notifications.models import Notification
from services.notify.notifications.service import lane_for
from services.notify.recipients import simulated_email_status, simulated_sms_status
from services.notify.templates.models import PROCESS_TYPES

log = get_logger("notify.delivery")

Ctx = dict[str, Any]

#: How long a claim holds a row. Longer than any sender's own timeout, so a slow hand-over is never joined by a
#: second worker; a crashed worker's row is swept once this and `OVERDUE_GRACE` have passed.
LEASE = timedelta(seconds=90)
#: notify spec §16.3: a `created` row this far past its due time lost its job; the sweeper queues it again.
OVERDUE_GRACE = timedelta(minutes=2)
#: A test-key row this far past its simulated receipt's due time lost that job; the sweeper queues it again.
RECEIPT_GRACE = timedelta(minutes=1)
#: The ctx key holding how long after `sending` a test key's simulated receipt arrives (set by the worker).
TEST_RECEIPT_DELAY = "test_receipt_delay"
SIMULATOR = "simulator"
TEST_LANE = "test"
#: notify spec §3.3, the key types a notification row can carry.
KEY_TYPES = ("normal", "team", "test")


@dataclass(frozen=True)
class HandedOver:
    """What a sender reports once its channel has accepted the message; `deliver` records it on the row.

    `status` is `sending`, or `sent` where no receipt will follow (international SMS). `receipt_due` is set by
    the simulator only: real providers send their receipts to notify's webhook routes instead.
    """

    sent_by: str
    status: str = "sending"
    reference: str | None = None
    receipt_due: datetime | None = None


#: Hands one claimed notification to its channel. It runs with no transaction open and must carry the
#: notification's id as its reference, so a provider can drop the copy a lease expiry might cause.
Sender = Callable[[Ctx, Notification], Awaitable[HandedOver]]


async def simulate(ctx: Ctx, notification: Notification) -> HandedOver:
    """The test keys' provider: accepts at once and promises a receipt after the configured delay."""
    return HandedOver(sent_by=SIMULATOR, receipt_due=utcnow() + ctx[TEST_RECEIPT_DELAY])


#: Real delivery, by notification type ("sms", "email", "letter"). A channel missing here is not delivered
#: yet, and its live and team rows wait in `created`.
PROVIDERS: dict[str, Sender] = {}


def sender_for(key_type: str, notification_type: str) -> Sender | None:
    if key_type == "test":
        return simulate
    return PROVIDERS.get(notification_type)


async def deliver(ctx: Ctx, ident: str) -> None:
    """Hand one notification over, once, however many times its job is delivered."""
    db: Database = ctx["db"]
    async with db.read_session() as session:
        found = await session.execute(
            select(Notification.key_type, Notification.notification_type, Notification.status).where(
                Notification.id == ident
            )
        )
        head = found.first()
    if head is None or head.status != "created":
        return  # gone past retention, cancelled, or already handed over: a duplicate job
    sender = sender_for(head.key_type, head.notification_type)
    if sender is None:
        log.debug("notify.delivery.no_provider", id=ident, notification_type=head.notification_type)
        return
    async with db.write_session() as session:
        notification = await claim(session, Notification, ident, expected_status="created", lease=LEASE)
    if notification is None:
        return  # another worker holds the lease, or the row moved on since we looked
    handed = await sender(ctx, notification)
    now = utcnow()
    values: dict[str, Any] = {"sent_at": now, "sent_by": handed.sent_by, "updated_at": now}
    if handed.reference is not None:
        values["reference"] = handed.reference
    if handed.receipt_due is not None:
        values["next_attempt_at"] = handed.receipt_due  # so the receipt sweep can tell when it is overdue
    async with db.write_session() as session:
        moved = await transition(
            session,
            Notification,
            ident,
            from_status="created",
            to_status=handed.status,
            expected_attempt=notification.attempt,
            **values,
        )
    if not moved:
        return  # our lease ran out and a later claim took over: its write is the one that counts
    log.info("notify.delivery.handed_over", id=ident, status=handed.status, sent_by=handed.sent_by)
    if handed.receipt_due is not None:
        await ctx["jobs"].enqueue("simulate_receipt", ident, lane=TEST_LANE, defer_until=handed.receipt_due)


def simulated_outcome(notification_type: str, recipient: str) -> str:
    """notify spec §3.5: the final status a test key's notification gets (letters: internal `delivered`)."""
    if notification_type == "sms":
        return simulated_sms_status(recipient)
    if notification_type == "email":
        return simulated_email_status(recipient)
    return "delivered"


async def simulate_receipt(ctx: Ctx, ident: str) -> None:
    """A test key's delivery receipt: `sending` becomes the outcome its recipient calls for, once."""
    db: Database = ctx["db"]
    async with db.read_session() as session:
        found = await session.execute(
            select(
                Notification.key_type,
                Notification.notification_type,
                Notification.status,
                Notification.normalised_to,
                Notification.to,
            ).where(Notification.id == ident)
        )
        row = found.first()
    if row is None or row.key_type != "test" or row.status != "sending":
        return  # gone, never a test key's, or already final: a duplicate receipt
    outcome = simulated_outcome(row.notification_type, row.normalised_to or row.to)
    async with db.write_session() as session:
        moved = await transition(
            session, Notification, ident, from_status="sending", to_status=outcome, updated_at=utcnow()
        )
    if moved:
        log.info("notify.delivery.receipt", id=ident, status=outcome, sent_by=SIMULATOR)


def rows_on_lane(lane: str) -> type[Notification]:
    """`notifications` narrowed to the rows `lane_for` sends to `lane`, shaped like the model for a kernel `Sweep`.

    A sweep re-queues rows on one lane, so it must see only that lane's rows; the kernel's `Sweep` reads just
    `id`, `status` and `next_attempt_at` from whatever it is given. The (key type, process type) pairs come from
    `lane_for` itself, so the routing rule is written once.
    """
    pairs = [(k, p) for k in KEY_TYPES for p in PROCESS_TYPES if lane_for(k, p) == lane]
    if not pairs:
        raise ValueError(f"no notification is sent on lane {lane!r}")
    criteria = []
    for key_type, group in groupby(pairs, key=lambda pair: pair[0]):
        process_types = [p for _, p in group]
        on_key = Notification.key_type == key_type
        criteria.append(
            on_key
            if len(process_types) == len(PROCESS_TYPES)
            else and_(on_key, Notification.process_type.in_(process_types))
        )
    view = select(Notification).where(or_(*criteria)).subquery(f"notifications_{lane}")
    return cast(type[Notification], aliased(Notification, view))


#: Lanes whose `created` rows the sweeper re-queues. Live and team lanes join (`"priority", "normal", "bulk"`)
#: with their providers: until then their rows are left alone, and sweeping them would only re-queue no-ops.
SWEPT_LANES: tuple[str, ...] = (TEST_LANE,)


def sweeps() -> list[Sweep]:
    """Every minute: re-queue lost `deliver` jobs per lane, and test keys' lost simulated receipts."""
    overdue = [
        Sweep(f"created-{lane}", rows_on_lane(lane), ["created"], "deliver", lane, grace=OVERDUE_GRACE)
        for lane in SWEPT_LANES
    ]
    receipts = Sweep(
        "test-receipts", rows_on_lane(TEST_LANE), ["sending"], "simulate_receipt", TEST_LANE, grace=RECEIPT_GRACE
    )
    return [*overdue, receipts]
