"""Identity's worker role (`gaap worker identity`): back-channel logout delivery from the outbox, its sweep, and
the scheduled key rotation (spec §8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gaap.db.engine import Database
from gaap.jobs import Cron, WorkerSpec
from services.identity.keys.service import rotate_due
from services.identity.logout import tasks as logout_tasks
from services.identity.logout.service import LANE
from services.identity.settings import IdentitySettings


async def rotate_keys(ctx: dict[str, Any]) -> None:
    db: Database = ctx["db"]
    async with db.write_session() as session:
        await rotate_due(session, ctx["settings"])


def worker_spec(settings: IdentitySettings | None = None) -> WorkerSpec:
    settings = settings or IdentitySettings()
    settings.register_encryption()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["db"] = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
        ctx["settings"] = settings
        await logout_tasks.open_resources(ctx, settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["http"].aclose()
        await ctx["db"].dispose()

    return WorkerSpec(
        component="identity",
        redis_url=settings.redis_url,
        lanes={LANE: 20},
        tasks=[logout_tasks.send_backchannel_logout],
        sweeps=logout_tasks.sweeps(),
        cron=[Cron("rotate-keys", rotate_keys, every=timedelta(hours=1))],
        on_startup=startup,
        on_shutdown=shutdown,
    )
