"""The gateway's worker role (`gaap worker gateway`): delivers tenant pushes that did not get through at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gaap.db.engine import Database
from gaap.jobs import Sweep, WorkerSpec
from gateway.settings import GatewaySettings
from gateway.sync.models import PENDING, TenantPush
from gateway.sync.service import Pusher

LANE = "tenant-sync"


async def push_tenant_state(ctx: dict[str, Any], ident: str) -> None:
    """Deliver one push (idempotent: the claim inside `deliver` drops a duplicate)."""
    pusher: Pusher = ctx["pusher"]
    await pusher.deliver(ident)


def worker_spec(settings: GatewaySettings | None = None) -> WorkerSpec:
    settings = settings or GatewaySettings()
    settings.register_encryption()

    async def startup(ctx: dict[str, Any]) -> None:
        db = Database(settings.database_url, pool_size=4)
        ctx["db"] = db
        ctx["pusher"] = Pusher.from_settings(db, settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["pusher"].close()
        await ctx["db"].dispose()

    return WorkerSpec(
        component="gateway",
        redis_url=settings.redis_url,
        lanes={LANE: 4},
        tasks=[push_tenant_state],
        sweeps=[
            Sweep(
                "tenant-pushes",
                TenantPush,
                [PENDING],
                "push_tenant_state",
                LANE,
                grace=timedelta(seconds=5),
                every=timedelta(seconds=10),
            )
        ],
        on_startup=startup,
        on_shutdown=shutdown,
    )
