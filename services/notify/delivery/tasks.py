"""Taking a notification from `created` to its final status (notify spec §16), one conditional update at a time.

The API commits the row and enqueues `deliver(id)` on the row's lane (`lane_for`). `deliver` claims the row (a
lease; only rows of channels with a sender), picks the sender for its key type and channel, lets the sender hand
the message over with no transaction open, and moves it to `sending` with a fenced conditional update. The claim
and that update are each coalesced with those of the other jobs the worker is running (`batches`). Every later change is
conditional too, so a job delivered twice, a sweep racing a worker, or a receipt that arrives twice changes
the row once (ARCHITECTURE rule 3).

Test keys never reach a provider (§3.3, §16.5): the simulator accepts every message at once, and a deferred
`simulate_receipt` job sets the outcome §3.5 gives the recipient a moment later, like a provider's receipt.

Real providers plug in per channel through `PROVIDERS` (`email` over SMTP; `sms` through the SMS providers with
failover between them). Until a channel has one (letters), `deliver` leaves its live and team rows exactly as they
are (`created`, unclaimed, due): nothing has been tried, so nothing has failed, and the sweeps leave them alone too.

A sender that fails (§16.3) puts the row back to `created`, due again at once after the first failure and 300 s
later after each further one, with a `deliver` job on the `retry` lane; after 48 retries, or at once when the
provider refused the message for good, the row becomes `technical-failure`. The policy reads the row's own
`attempt` (one per claim), so it survives restarts, and every write is fenced by that attempt. When the provider
certainly does not have the message (`ProviderError.unsent`), that write also clears `sent_by`, where a channel
with several providers notes the one it is trying, so the next attempt may choose another.

Every move to a final status also owes the service its delivery-status callback (`callbacks.outbox.record`, in
the same transaction), queued on the `callbacks` lane once committed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Sweep, retry_at, transition
from gaap.logging import get_logger
from services.notify.callbacks import outbox as callbacks
from services.notify.delivery import batches
from services.notify.delivery.email import deliver_email
from services.notify.delivery.providers import CLOCK, Ctx, HandedOver, ProviderError, Sender, clock
from services.notify.delivery.sms import deliver_sms
from services.notify.notifications.models import Notification
from services.notify.notifications.service import lane_for
from services.notify.recipients import simulated_email_status, simulated_sms_status
from services.notify.templates.models import PROCESS_TYPES

__all__ = [
    "CLOCK",
    "PROVIDERS",
    "Ctx",
    "HandedOver",
    "ProviderError",
    "Sender",
    "deliver",
    "simulate_receipt",
    "sweeps",
]

log = get_logger("notify.delivery")

#: How long a claim holds a row. Longer than any sender's own timeout, so a slow hand-over is never joined by a
#: second worker; a crashed worker's row is swept once this and `OVERDUE_GRACE` have passed.
LEASE = timedelta(seconds=90)
#: notify spec §16.3: a `created` row this far past its due time lost its job; the sweeper queues it again.
OVERDUE_GRACE = timedelta(minutes=2)
#: A test-key row this far past its simulated receipt's due time lost that job; the sweeper queues it again.
RECEIPT_GRACE = timedelta(minutes=1)
#: The ctx key holding how long after `sending` a test key's simulated receipt arrives (set by the worker).
TEST_RECEIPT_DELAY = "test_receipt_delay"
#: The ctx key holding the claim's lease when the worker is configured with another than `LEASE`.
DELIVERY_LEASE = "delivery_lease"
SIMULATOR = "simulator"
TEST_LANE = "test"
#: The lanes of live and team keys' notifications (`lane_for`).
LIVE_LANES = ("priority", "normal", "bulk")
#: Where a failed hand-over's next attempt is queued (§16.2), so retries never hold up first attempts.
RETRY_LANE = "retry"
#: notify spec §16.3: retried at once, then every 300 s, up to 48 retries; then `technical-failure`.
RETRY_INTERVAL = timedelta(seconds=300)
MAX_RETRIES = 48
#: notify spec §3.3, the key types a notification row can carry.
KEY_TYPES = ("normal", "team", "test")


async def simulate(ctx: Ctx, notification: Notification) -> HandedOver:
    """The test keys' provider: accepts at once and promises a receipt after the configured delay."""
    return HandedOver(sent_by=SIMULATOR, receipt_due=clock(ctx) + ctx[TEST_RECEIPT_DELAY])


#: Real delivery, by notification type ("sms", "email", "letter"). A channel missing here is not delivered
#: yet, and its live and team rows wait in `created`.
PROVIDERS: dict[str, Sender] = {"email": deliver_email, "sms": deliver_sms}


def retry_due(attempt: int, now: datetime) -> datetime | None:
    """§16.3: when a row whose `attempt`-th hand-over failed is tried again; None once its 48 retries are spent."""
    if attempt > MAX_RETRIES:
        return None
    return now if attempt == 1 else now + RETRY_INTERVAL


def sender_for(key_type: str, notification_type: str) -> Sender | None:
    if key_type == "test":
        return simulate
    return PROVIDERS.get(notification_type)


async def deliver(ctx: Ctx, ident: str) -> None:
    """Hand one notification over, once, however many times its job is delivered."""
    claimed = await batches.claims(ctx, tuple(PROVIDERS), ctx.get(DELIVERY_LEASE, LEASE)).submit(ident)
    if claimed is None:
        # Gone past retention, cancelled, handed over already (a duplicate job), held by another worker, not due,
        # or of a channel with no provider yet (its live rows wait in `created`).
        return
    notification = claimed.notification
    sender = sender_for(notification.key_type, notification.notification_type)
    assert sender is not None  # the claim takes only rows of channels with a sender
    try:
        if not claimed.service_active:
            raise ProviderError("the service is inactive", retryable=False)  # §16.2
        handed = await sender(ctx, notification)
    except Exception as exc:  # a bug in an adapter is retried like a provider exception, not lost in `created`
        await not_handed_over(ctx, notification, exc)
        return
    now = clock(ctx)
    values: dict[str, Any] = {"sent_at": now, "sent_by": handed.sent_by, "updated_at": now}
    if handed.reference is not None:
        values["reference"] = handed.reference
    if handed.billable_units is not None:
        values["billable_units"] = handed.billable_units
    if handed.receipt_due is not None:
        values["next_attempt_at"] = handed.receipt_due  # so the receipt sweep can tell when it is overdue
    handover = batches.Handover(ident, notification.attempt, handed.status, values)
    recorded = await batches.handovers(ctx).submit(handover)
    if not recorded.moved:
        return  # our lease ran out and a later claim took over: its write is the one that counts
    log.info("notify.delivery.handed_over", id=ident, status=handed.status, sent_by=handed.sent_by)
    await callbacks.queue(ctx["jobs"], recorded.owed)  # an international text ends `sent` here (§16.1)
    if handed.receipt_due is not None:
        await ctx["jobs"].enqueue("simulate_receipt", ident, lane=TEST_LANE, defer_until=handed.receipt_due)


async def not_handed_over(ctx: Ctx, notification: Notification, error: Exception) -> None:
    """§16.3: schedule the next attempt, or give up with `technical-failure` (each fenced by our claim's attempt)."""
    db: Database = ctx["db"]
    ident, attempt, now = notification.id, notification.attempt, clock(ctx)
    if not isinstance(error, ProviderError):
        log.error("notify.delivery.sender_failed", id=str(ident), attempt=attempt, exc_info=error)
    retryable = error.retryable if isinstance(error, ProviderError) else True
    due = retry_due(attempt, now) if retryable else None
    values: dict[str, Any] = {"updated_at": now}
    if isinstance(error, ProviderError) and error.unsent:
        values["sent_by"] = None  # the provider has nothing: the next attempt may go to another one
    owed: list[Any] = []
    async with db.write_session() as session:
        if due is not None:
            changed = await retry_at(
                session,
                Notification,
                ident,
                status="created",
                when=due,
                error=str(error),
                expected_attempt=attempt,
                **values,
            )
        else:
            changed = await transition(
                session,
                Notification,
                ident,
                from_status="created",
                to_status="technical-failure",
                expected_attempt=attempt,
                **values,
            )
            owed = await callbacks.record(session, ident) if changed else []  # §18.3: GOV.UK sends none
    if not changed:
        return  # a later claim has taken the row over
    if due is not None:
        await ctx["jobs"].enqueue("deliver", ident, lane=RETRY_LANE, defer_until=due)
    else:
        await callbacks.queue(ctx["jobs"], owed)
        log.warning("notify.delivery.technical_failure", id=str(ident), attempt=attempt, error=str(error)[:500])


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
        owed = await callbacks.record(session, ident) if moved else []  # §16.5: test keys get callbacks
    if moved:
        log.info("notify.delivery.receipt", id=ident, status=outcome, sent_by=SIMULATOR)
        await callbacks.queue(ctx["jobs"], owed)


def rows_on_lane(lane: str, notification_types: Collection[str] | None = None) -> type[Notification]:
    """`notifications` narrowed to the rows `lane_for` sends to `lane` (and, if given, of `notification_types`),
    shaped like the model for a kernel `Sweep`.

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
    rows = select(Notification).where(or_(*criteria))
    if notification_types is not None:
        rows = rows.where(Notification.notification_type.in_(list(notification_types)))
    view = rows.subquery(f"notifications_{lane}")
    return cast(type[Notification], aliased(Notification, view))


#: Lanes whose `created` rows the sweeper re-queues: every test key's row, and on the live and team lanes the
#: rows of channels with a provider (`PROVIDERS`); the others are left alone, since re-queueing them would only
#: queue no-ops until their channel has a provider.
SWEPT_LANES: tuple[str, ...] = (TEST_LANE, *LIVE_LANES)


def swept_types(lane: str) -> tuple[str, ...] | None:
    """The notification types a lane's sweep re-queues; None for all of them."""
    return None if lane == TEST_LANE else tuple(PROVIDERS)


def sweeps(grace: timedelta = OVERDUE_GRACE, every: timedelta = timedelta(minutes=1)) -> list[Sweep]:
    """Every minute (or `every`): re-queue lost `deliver` jobs per lane (rows `grace` overdue), and test keys' lost
    simulated receipts."""
    overdue = [
        Sweep(
            f"created-{lane}",
            rows_on_lane(lane, swept_types(lane)),
            ["created"],
            "deliver",
            lane,
            grace=grace,
            every=every,
        )
        for lane in SWEPT_LANES
        if swept_types(lane) != ()
    ]
    receipts = Sweep(
        "test-receipts",
        rows_on_lane(TEST_LANE),
        ["sending"],
        "simulate_receipt",
        TEST_LANE,
        grace=RECEIPT_GRACE,
        every=every,
    )
    return [*overdue, receipts]
