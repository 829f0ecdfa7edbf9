"""Pay's worker role (`gaap worker pay`): the provider calls that follow a commit (capture, void, refund), webhook
deliveries (§12) on a lane of their own so a slow receiver never delays a capture, the sweeps that make both queues
lossless, and the timers of §9.3 (expiry, token and idempotency-key retention) and of the webhook log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import Cron, WorkerSpec, every_to_cron
from gaap.settings import ConfigurationError
from services.pay.agreements import tasks as agreement_tasks
from services.pay.deps import PROVIDER_LANE
from services.pay.disputes import service as disputes
from services.pay.idempotency.service import settle_stale
from services.pay.payments import tasks as payment_tasks
from services.pay.provider import build_providers
from services.pay.receipts import delivery as receipts
from services.pay.refunds import tasks as refund_tasks
from services.pay.settings import PaySettings
from services.pay.webhooks import delivery as webhooks

LANES = {PROVIDER_LANE: 20, webhooks.LANE: 20, receipts.LANE: 10}


async def settle_idempotency_keys(ctx: dict[str, Any]) -> None:
    db: Database = ctx["db"]
    async with db.write_session() as session:
        await settle_stale(session, now=utcnow())


def check_webhook_lease(settings: PaySettings) -> None:
    """Refuse a webhook lease an attempt could outlast (the timeout plus the callback host's lookup): a second
    worker would join the attempt and send the message twice."""
    attempt = settings.webhook_timeout_seconds + webhooks.RESOLVE_TIMEOUT_SECONDS
    if settings.webhook_lease_seconds <= attempt:
        raise ConfigurationError(
            f"PAY_WEBHOOK_LEASE_SECONDS must be above an attempt's {attempt:g} s "
            "(PAY_WEBHOOK_TIMEOUT_SECONDS plus the callback host's lookup)"
        )


def worker_spec(settings: PaySettings | None = None) -> WorkerSpec:
    settings = settings or PaySettings()
    # Checked now, so a bad configuration stops the process before it serves.
    check_webhook_lease(settings)
    receipts.check_lease(settings)
    every_to_cron(settings.sweep_every)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["db"] = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
        ctx["settings"] = settings
        ctx["providers"] = build_providers(settings)
        ctx["webhook_http"] = webhooks.http_client(settings)
        ctx["receipts"] = receipts.ConfirmationSender(settings) if settings.sends_confirmation_emails else None
        receipts.announce(settings, "worker")
        settings.register_encryption()

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["webhook_http"].aclose()
        if ctx["receipts"] is not None:
            await ctx["receipts"].close()
        await ctx["db"].dispose()

    return WorkerSpec(
        component="pay",
        redis_url=settings.redis_url,
        lanes=dict(LANES),
        tasks=[
            payment_tasks.capture_payment,
            payment_tasks.void_payment,
            refund_tasks.submit_refund,
            agreement_tasks.authorise_recurring,
            agreement_tasks.delete_instrument,
            webhooks.deliver_webhook,
            receipts.send_confirmation_email,
        ],
        sweeps=[
            *payment_tasks.sweeps(settings.overdue_grace, settings.sweep_every),
            *refund_tasks.sweeps(settings.overdue_grace, settings.sweep_every),
            *agreement_tasks.sweeps(settings.overdue_grace, settings.sweep_every),
            *webhooks.sweeps(),
            *receipts.sweeps(settings.overdue_grace, settings.sweep_every),
        ],
        cron=[
            # §9.3: the expiry sweeper runs at least once a minute.
            Cron("expire-payments", payment_tasks.expire_job, every=timedelta(minutes=1)),
            Cron("idempotency-keys", settle_idempotency_keys, every=timedelta(minutes=5)),
            Cron("next-url-tokens", payment_tasks.purge_next_url_tokens, every=timedelta(hours=1)),
            # Recurring payments (§8) whose job was lost, at the sweeps' period.
            Cron("recurring-payments", agreement_tasks.requeue_recurring_job, every=settings.sweep_every),
            # The sandbox's disputes (§10, §13.5) move on within 10 s of their step's due time.
            Cron("disputes", disputes.progress_job, every=timedelta(seconds=10)),
            *webhooks.cron(),
        ],
        on_startup=startup,
        on_shutdown=shutdown,
        job_timeout=timedelta(seconds=settings.job_timeout_seconds),
    )
