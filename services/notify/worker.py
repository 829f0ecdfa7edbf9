"""Notify's worker role (`gaap worker notify`): delivery lanes, the callbacks lanes, the sweeps that make the queue
lossless, the hourly 72-hour timeout, the SMS providers' return to resting weights, the letters' daily collation for
print and the nightly retention purge (notify spec §14, §16)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gaap.db.engine import Database
from gaap.jobs import Cron, WorkerSpec, every_to_cron
from gaap.redis import create_redis
from gaap.settings import ConfigurationError
from services.notify.app import register_keyring
from services.notify.callbacks import outbox as callbacks
from services.notify.callbacks import sender as callback_sender
from services.notify.delivery import batches, tasks
from services.notify.delivery import letters as print_letters
from services.notify.delivery.email import EMAIL, EmailProvider
from services.notify.delivery.failover import FailoverRules, ProviderWeights
from services.notify.delivery.history import purge_job
from services.notify.delivery.print_api import PrintApi
from services.notify.delivery.providers import Ctx, clock
from services.notify.delivery.sms import SMS, SmsChannel
from services.notify.delivery.sms_api import ADAPTERS, SmsApi, http_client
from services.notify.delivery.smtp import SmtpRelay, SmtpTarget
from services.notify.delivery.timeouts import timeout_job
from services.notify.documents import repository as documents
from services.notify.letters import service as letters
from services.notify.letters.scanning import ScannerSettings, build_scanner
from services.notify.records import Records
from services.notify.settings import NotifySettings

#: Concurrency per lane (`lane_for` picks the lane; failed hand-overs come back on the retry lane). They share the
#: process, not a budget: a full bulk lane never holds up the priority lane.
LANES = {
    "priority": 20,
    "normal": 50,
    "bulk": 10,
    tasks.RETRY_LANE: 10,
    tasks.TEST_LANE: 10,
    letters.LANE: 2,
    callbacks.LANE: 20,
    callback_sender.RETRY_LANE: 5,
}


class DeliverySettings(BaseSettings):
    """The worker's own knobs (prefix `NOTIFY_`), read beside `NotifySettings`, which does not carry them."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    #: notify spec §16.5: how long after `sending` a test key's simulated receipt sets the final status.
    test_receipt_delay_seconds: float = 1.0
    #: How long a claim holds an email or a text (ARCHITECTURE rule 3); the SMTP and SMS timeouts must be shorter.
    delivery_lease_seconds: float = Field(default=tasks.LEASE.total_seconds(), gt=0)
    #: How long one job may run. A worker that dies mid-job leaves the job marked as running (arq's in-progress
    #: key) for this long plus 15 s, and nothing runs it again before then: this bounds how late the messages a
    #: crashed worker held are delivered. Above the delivery lease, so a slow hand-over is never cut short.
    job_timeout_seconds: float = Field(default=300.0, gt=0)
    #: How far past its due time (or its lease) a `created` row must be before the sweeper queues it again, and how
    #: often the sweeps run (whole seconds dividing a minute or an hour): this bounds how late the messages whose
    #: jobs Redis lost (a restart without its data, an enqueue while it was down) are delivered.
    overdue_grace_seconds: float = Field(default=tasks.OVERDUE_GRACE.total_seconds(), gt=0)
    sweep_every_seconds: int = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _job_outlasts_lease(self) -> DeliverySettings:
        if self.job_timeout_seconds <= self.delivery_lease_seconds:
            raise ValueError("NOTIFY_JOB_TIMEOUT_SECONDS must be above NOTIFY_DELIVERY_LEASE_SECONDS")
        return self


def smtp_target(settings: NotifySettings, lease: timedelta = tasks.LEASE) -> SmtpTarget:
    """The relay to deliver email through, refusing a configuration that would leak a password or break the lease."""
    try:
        target = SmtpTarget.parse(settings.smtp_url.get_secret_value())
    except ValueError as exc:
        raise ConfigurationError(f"NOTIFY_SMTP_URL: {exc}") from None
    if target.username and not target.encrypted and not target.loopback and not settings.platform.is_development:
        raise ConfigurationError(
            "NOTIFY_SMTP_URL: a password may only cross the network encrypted (smtps:// or smtp+starttls://)"
        )
    if not 0 < settings.smtp_timeout_seconds < lease.total_seconds():
        raise ConfigurationError(
            f"NOTIFY_SMTP_TIMEOUT_SECONDS must be above 0 and below the {lease.total_seconds():g} s lease"
        )
    return target


def check_sms_settings(settings: NotifySettings, lease: timedelta = tasks.LEASE) -> None:
    """Refuse SMS providers without an adapter, international ones not among them, or a timeout past the lease."""
    names = set(settings.sms_resting_weights)
    if unknown := names - set(ADAPTERS):
        raise ConfigurationError(f"NOTIFY_SMS_PROVIDERS: no adapter for {', '.join(sorted(unknown))}")
    if stray := settings.sms_international - names:
        raise ConfigurationError(f"NOTIFY_SMS_INTERNATIONAL_PROVIDERS: not in NOTIFY_SMS_PROVIDERS: {sorted(stray)}")
    if not 0 < settings.sms_timeout_seconds < lease.total_seconds():
        raise ConfigurationError(
            f"NOTIFY_SMS_TIMEOUT_SECONDS must be above 0 and below the {lease.total_seconds():g} s lease"
        )


def sms_channel(settings: NotifySettings, db: Database, records: Records) -> SmsChannel:
    """The SMS providers' APIs on one pooled HTTP client, and their weights in Redis."""
    client = http_client(settings.sms_timeout_seconds)
    apis = {
        name: SmsApi(
            name,
            client,
            base_url=settings.sms_provider_url,
            credentials=settings.sms_api_credentials(name),
            timeout=settings.sms_timeout_seconds,
        )
        for name in settings.sms_resting_weights
    }
    weights = ProviderWeights(create_redis(settings.redis_url), settings.sms_resting_weights)
    return SmsChannel(db, records, apis, weights, international=settings.sms_international)


async def rest_sms_weights(ctx: Ctx) -> None:
    """Every 5 minutes (§16.4): SMS provider weights unchanged for 15 minutes step back towards resting."""
    channel: SmsChannel = ctx[SMS]
    await channel.weights.return_to_resting(clock(ctx))


def worker_spec(settings: NotifySettings | None = None, delivery: DeliverySettings | None = None) -> WorkerSpec:
    settings = settings or NotifySettings()
    delivery = delivery or DeliverySettings()
    lease = timedelta(seconds=delivery.delivery_lease_seconds)
    target = smtp_target(settings, lease)  # checked now, so a bad configuration stops the process before it serves
    check_sms_settings(settings, lease)
    sweep_every = timedelta(seconds=delivery.sweep_every_seconds)
    every_to_cron(sweep_every)  # refuses a period the clock-aligned schedule cannot express, before serving

    async def startup(ctx: dict[str, Any]) -> None:
        ctx[letters.SCANNER] = build_scanner(ScannerSettings(), settings.platform)  # `none` refused outside dev
        register_keyring(settings)  # claims return whole rows, whose content is encrypted
        ctx["db"] = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
        ctx[tasks.TEST_RECEIPT_DELAY] = timedelta(seconds=delivery.test_receipt_delay_seconds)
        ctx[tasks.DELIVERY_LEASE] = lease
        batches.install(ctx, tuple(tasks.PROVIDERS), lease)
        # The service records are cached for a few seconds, like the API's; the worker follows no announcements.
        records = Records(ctx["db"], None)
        relay = SmtpRelay(target, timeout=settings.smtp_timeout_seconds, local_hostname=settings.email_domain)
        ctx[EMAIL] = EmailProvider(relay, records, domain=settings.email_domain, name=settings.email_provider)
        ctx[SMS] = sms_channel(settings, ctx["db"], records)
        ctx[callback_sender.HTTP] = callback_sender.http_client()
        ctx[print_letters.PRINT] = PrintApi(
            settings.print_provider,
            base_url=settings.print_provider_url,
            credentials=settings.print_provider_credentials.get_secret_value() or None,
            timeout=settings.print_timeout_seconds,
        )
        ctx[print_letters.BATCH_SIZE] = settings.print_batch_size

    async def shutdown(ctx: dict[str, Any]) -> None:
        if EMAIL in ctx:
            await ctx[EMAIL].close()
        if SMS in ctx:
            await ctx[SMS].close()
        if callback_sender.HTTP in ctx:
            await ctx[callback_sender.HTTP].aclose()
        if print_letters.PRINT in ctx:
            await ctx[print_letters.PRINT].close()
        await batches.close(ctx)
        await ctx["db"].dispose()

    return WorkerSpec(
        component="notify",
        redis_url=settings.redis_url,
        lanes=dict(LANES),
        tasks=[tasks.deliver, tasks.simulate_receipt, letters.check_precompiled, callback_sender.deliver_callback],
        sweeps=[
            *tasks.sweeps(timedelta(seconds=delivery.overdue_grace_seconds), sweep_every),
            letters.sweep(),
            callback_sender.sweep(),
        ],
        cron=[
            # notify spec §16.6: nightly at 03:00 UTC; a big backlog of batches may take a while.
            Cron("retention", purge_job, hour=3, minute=0, second=0, timeout=timedelta(hours=2)),
            # notify spec §16.5: hourly (GOV.UK: nightly).
            Cron("timeout-sending", timeout_job, every=timedelta(hours=1), timeout=timedelta(minutes=30)),
            # notify spec §16.4: every 5 minutes.
            Cron("sms-weights", rest_sms_weights, every=FailoverRules().rest_every, timeout=timedelta(minutes=1)),
            # notify spec §12: files sent by email are deleted once their retention period has passed.
            Cron("documents-retention", documents.purge_job, every=timedelta(hours=1), timeout=timedelta(minutes=30)),
            # notify spec §16.5: letters accepted before the 17:30 (London) cut-off go to print in the first run after
            # it; the other runs retry failed hand-overs.
            Cron("letters-print", print_letters.collate_job, every=timedelta(minutes=5), timeout=timedelta(minutes=30)),
        ],
        on_startup=startup,
        on_shutdown=shutdown,
        job_timeout=timedelta(seconds=delivery.job_timeout_seconds),
    )
