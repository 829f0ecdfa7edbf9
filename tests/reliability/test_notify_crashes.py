"""Notify's delivery survives its worker being SIGKILLed and Redis being lost (issue 4's done-when): every accepted
text reaches the fake SMS provider exactly once (it refuses a reference it already holds, and its store is counted
across both providers) and ends `delivered`.

What makes it so (ARCHITECTURE rules 2 and 3): the API commits the row before it answers; the worker claims a row
with a lease and pins the provider before calling it, with the notification id as the reference; a job a dead
worker held runs again once its time is up, and the sweeper re-queues rows whose jobs Redis lost. The rig shortens
those times (`NOTIFY_DELIVERY_LEASE_SECONDS` and friends, see rig.py) so each run fits the suite's budget.
"""

from __future__ import annotations

import asyncio
import time

from tests.reliability.checks import assert_each_delivered_once, provider_copies, send_texts
from tests.reliability.conftest import Profile
from tests.reliability.rig import Platform


async def kill_repeatedly(platform: Platform, name: str, kills: int, every: float, first_after: int) -> list[int]:
    """SIGKILL `name` `kills` times, `every` seconds apart once the provider holds `first_after` texts, restarting it
    at once each time; returns how many texts the provider held at each kill."""
    proc = platform.procs[name]
    while sum(provider_copies(platform).values()) < first_after:
        proc.check_alive()
        await asyncio.sleep(0.2)
    at_kill = []
    for _ in range(kills):
        at_kill.append(sum(provider_copies(platform).values()))
        proc.kill()
        proc.start(wait=False)
        await asyncio.to_thread(proc.wait_ready, 60)
        await asyncio.sleep(every)
    return at_kill


async def test_worker_sigkilled_during_a_run_delivers_every_text_once(platform: Platform, profile: Profile) -> None:
    before = sum(provider_copies(platform).values())
    started = time.monotonic()
    killer = asyncio.create_task(
        kill_repeatedly(platform, "notify-worker", profile.kills, every=2.5, first_after=before + 100)
    )
    sent = await send_texts(platform, profile.messages, label="kill")
    assert not sent.refused, sent.refused
    at_kill = await killer
    # Each kill landed while texts were still going out, not after the run.
    assert at_kill[-1] - before < profile.messages, at_kill
    await assert_each_delivered_once(platform, sent.accepted, within=max(60.0, profile.messages / 10))
    print(f"{profile.messages} texts, {profile.kills} SIGKILLs at {at_kill}: {time.monotonic() - started:.1f}s")


async def test_redis_stopped_and_restarted_empty_mid_run_loses_nothing(platform: Platform, profile: Profile) -> None:
    half = profile.redis_messages // 2
    first = await send_texts(platform, half, label="redis-a")
    platform.stop_redis()
    down_since = time.monotonic()
    # Notify's sends fail open without Redis (the limiter, and the queue's doorbell): the rows are durable.
    during = await send_texts(platform, half, label="redis-b")
    await asyncio.sleep(max(0.0, profile.redis_down_seconds - (time.monotonic() - down_since)))
    platform.start_redis()
    accepted = first.accepted + during.accepted
    assert not first.refused and not during.refused, (first.refused, during.refused)
    await assert_each_delivered_once(platform, accepted, within=max(45.0, profile.redis_messages / 10))
    platform.check_alive()
