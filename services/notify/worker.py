"""Notify's worker role (`gaap worker notify`): delivery lanes, the sweeps that make the queue lossless, and the
nightly retention purge (notify spec §16)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from gaap.db.engine import Database
from gaap.jobs import Cron, WorkerSpec
from services.notify.app import register_keyring
from services.notify.delivery import tasks
from services.notify.delivery.history import purge_job
from services.notify.letters import service as letters
from services.notify.letters.scanning import ScannerSettings, build_scanner
from services.notify.settings import NotifySettings

#: Concurrency per lane (`lane_for` picks the lane). They share the process, not a budget: a full bulk lane
#: never holds up the priority lane.
LANES = {"priority": 20, "normal": 50, "bulk": 10, tasks.TEST_LANE: 10, letters.LANE: 2}


class DeliverySettings(BaseSettings):
    """The worker's own knobs (prefix `NOTIFY_`), read beside `NotifySettings`, which does not carry them."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    #: notify spec §16.5: how long after `sending` a test key's simulated receipt sets the final status.
    test_receipt_delay_seconds: float = 1.0


def worker_spec(settings: NotifySettings | None = None, delivery: DeliverySettings | None = None) -> WorkerSpec:
    settings = settings or NotifySettings()
    delivery = delivery or DeliverySettings()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx[letters.SCANNER] = build_scanner(ScannerSettings(), settings.platform)  # `none` refused outside dev
        register_keyring(settings)  # claims return whole rows, whose content is encrypted
        ctx["db"] = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
        ctx[tasks.TEST_RECEIPT_DELAY] = timedelta(seconds=delivery.test_receipt_delay_seconds)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["db"].dispose()

    return WorkerSpec(
        component="notify",
        redis_url=settings.redis_url,
        lanes=dict(LANES),
        tasks=[tasks.deliver, tasks.simulate_receipt, letters.check_precompiled],
        sweeps=[*tasks.sweeps(), letters.sweep()],
        # notify spec §16.6: nightly at 03:00 UTC; a big backlog of batches may take a while.
        cron=[Cron("retention", purge_job, hour=3, minute=0, second=0, timeout=timedelta(hours=2))],
        on_startup=startup,
        on_shutdown=shutdown,
    )
