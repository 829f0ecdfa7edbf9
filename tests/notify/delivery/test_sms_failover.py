"""SMS provider failover (notify spec §16.4) on real Redis: the error window and the 10-point shift shared by every
worker, the return to resting weights, and an outage at the fake provider moving traffic to the other one."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta

from redis.asyncio import Redis

from gaap.db import Database, utcnow
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.delivery import tasks
from services.notify.delivery.failover import ProviderWeights, choose
from services.notify.delivery.sms import SMS
from tests.notify.conftest import NotifyRig, SmsFake
from tests.notify.delivery.support import (
    RecordedJobs,
    handler_ctx,
    insert_text,
    row_of,
    status_becomes,
)

AT_REST = {"mmg": 51, "firetext": 49}


async def errors(weights: ProviderWeights, provider: str, count: int, at: datetime) -> list[int]:
    return [await weights.record_error(provider, at) for _ in range(count)]


async def test_more_than_50_errors_in_60_seconds_move_10_points_once_a_minute(weights: ProviderWeights) -> None:
    start = utcnow()
    assert await errors(weights, "mmg", 50, start) == [0] * 50
    assert await weights.current() == AT_REST
    assert await weights.record_error("mmg", start) == 10  # the 51st
    assert await weights.current() == {"mmg": 41, "firetext": 59}
    # Within a minute of that change nothing moves, however many errors come.
    assert set(await errors(weights, "mmg", 60, start + timedelta(seconds=30))) == {0}
    assert await weights.current() == {"mmg": 41, "firetext": 59}
    # A minute on, the 60 errors of 30 s ago are still in the window: the next one moves 10 more.
    assert await weights.record_error("mmg", start + timedelta(seconds=61)) == 10
    assert await weights.current() == {"mmg": 31, "firetext": 69}


async def test_errors_older_than_60_seconds_leave_the_window(weights: ProviderWeights) -> None:
    start = utcnow()
    await errors(weights, "firetext", 50, start)
    assert await errors(weights, "firetext", 50, start + timedelta(seconds=61)) == [0] * 50
    await errors(weights, "mmg", 50, start + timedelta(seconds=61))  # another provider's errors are its own
    assert await weights.current() == AT_REST


async def test_weights_stay_between_0_and_100(weights: ProviderWeights) -> None:
    start = utcnow()
    await weights.set({"mmg": 5, "firetext": 95}, start - timedelta(minutes=5))
    assert (await errors(weights, "mmg", 51, start))[-1] == 5
    assert await weights.current() == {"mmg": 0, "firetext": 100}
    assert set(await errors(weights, "mmg", 51, start + timedelta(minutes=2))) == {0}
    assert await weights.current() == {"mmg": 0, "firetext": 100}


async def test_the_window_and_the_shift_are_shared_by_every_worker(
    notify_rig: NotifyRig, weights: ProviderWeights
) -> None:
    """Two processes' worth of clients count into one window, and the 51st error moves the weights once."""
    redis = Redis.from_url(notify_rig.redis_url)
    try:
        other = ProviderWeights(redis, AT_REST)
        now = utcnow()
        moved = await asyncio.gather(*(w.record_error("mmg", now) for _ in range(40) for w in (weights, other)))
        assert sorted(moved) == [0] * 79 + [10]
        assert await other.current() == await weights.current() == {"mmg": 41, "firetext": 59}
    finally:
        await redis.aclose()


async def test_weights_return_to_rest_10_points_at_a_time_after_15_quiet_minutes(weights: ProviderWeights) -> None:
    start = utcnow()
    await weights.set({"mmg": 21, "firetext": 79}, start)
    assert await weights.return_to_resting(start + timedelta(minutes=14)) == 0
    assert await weights.return_to_resting(start + timedelta(minutes=15)) == 20
    assert await weights.current() == {"mmg": 31, "firetext": 69}
    assert await weights.return_to_resting(start + timedelta(minutes=20)) == 0  # changed 5 minutes ago
    assert await weights.return_to_resting(start + timedelta(minutes=30)) == 20
    assert await weights.return_to_resting(start + timedelta(minutes=45)) == 20
    assert await weights.current() == AT_REST
    assert await weights.return_to_resting(start + timedelta(minutes=60)) == 0


async def test_a_weighted_choice_follows_the_weights() -> None:
    rng = random.Random(7)
    picks = Counter(choose({"mmg": 51, "firetext": 49}, {"mmg", "firetext"}, rng) for _ in range(4000))
    assert 0.47 < picks["mmg"] / 4000 < 0.55
    assert {choose({"mmg": 0, "firetext": 10}, {"mmg", "firetext"}, rng) for _ in range(50)} == {"firetext"}
    assert {choose({"mmg": 0, "firetext": 0}, {"mmg", "firetext"}, rng) for _ in range(50)} == {"mmg", "firetext"}
    assert {choose({"mmg": 0, "firetext": 100}, {"mmg"}, rng) for _ in range(5)} == {"mmg"}  # international


async def test_an_outage_moves_traffic_to_the_other_provider_after_51_errors(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, sms_fake: SmsFake, weights: ProviderWeights
) -> None:
    """Every text goes to `mmg` (resting weights 10/0), which is down. After its 51st error within the minute, its
    10 points move to `firetext`: the texts' retries and new texts all go there, and every text is delivered once."""
    sms_fake.control("mmg", mode="error", error_status=500)
    before = sms_fake.stats()
    texts = [await insert_text(db, notify_rig) for _ in range(51)]
    jobs = RecordedJobs()
    async with handler_ctx(notify_rig, email_sink, jobs=jobs, sms=sms_fake, sms_providers="mmg:10,firetext:0") as ctx:
        shared: ProviderWeights = ctx[SMS].weights
        for ident in texts[:50]:
            await tasks.deliver(ctx, str(ident))
        assert await shared.current() == {"mmg": 10, "firetext": 0}
        await tasks.deliver(ctx, str(texts[50]))
        assert await shared.current() == {"mmg": 0, "firetext": 10}
        assert [queued[2] for queued in jobs.queued] == [tasks.RETRY_LANE] * 51
        fresh = await insert_text(db, notify_rig)
        for ident in [*texts, fresh]:  # the retries (due at once) and a new text
            await tasks.deliver(ctx, str(ident))
    after = sms_fake.stats()
    assert after["errors"]["mmg"] - before["errors"]["mmg"] == 51
    assert after["accepted"]["firetext"] - before["accepted"]["firetext"] == 52
    assert after["accepted"]["mmg"] == before["accepted"]["mmg"]
    assert after["duplicates"] == before["duplicates"]
    for ident in texts:
        row = await status_becomes(db, ident, "delivered")
        assert (row.attempt, row.sent_by) == (2, "firetext")
    fresh_row = await row_of(db, fresh)
    assert fresh_row is not None and (fresh_row.attempt, fresh_row.sent_by) == (1, "firetext")
