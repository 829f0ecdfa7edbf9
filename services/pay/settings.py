"""Pay settings (prefix `PAY_`). Timers default to GOV.UK Pay's (pay spec §9.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from gaap_client.notify import NotifyKey
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from gaap.crypto import SecretBox, register_box
from gaap.settings import DEV_ENCRYPTION_KEY, DEV_SECRET, ComponentSettings

#: The keyring name of pay's encrypted columns (`gaap.crypto.register_box`).
ENCRYPTION_BOX = "pay"


class PaySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="PAY_", extra="ignore")
    component: ClassVar[str] = "pay"
    origin_fields: ClassVar[tuple[str, ...]] = ("api_base_url", "frontend_base_url", "notify_base_url")
    # `notify_api_key` is not among them: pay works without it, only sending no confirmation emails.
    secret_fields: ClassVar[tuple[str, ...]] = ("principal_keys", "token_secret", "encryption_keys")

    #: Origin of the API's `_links`; defaults to the platform's public base URL.
    api_base_url: str = ""
    #: Origin of the hosted payment pages (`next_url`); defaults to the platform's public base URL.
    frontend_base_url: str = ""
    #: HMAC key from which each MOTO payment's one-time token is derived, so the token can be shown on every read
    #: without being stored (only its hash is kept). The payment pages derive their `pay_session` cookie key and
    #: their CSRF key from it too, each under its own label.
    token_secret: SecretStr = SecretStr(DEV_SECRET)
    #: Keyring (`kid:base64,...`; the first key encrypts) sealing what pay must read back: webhook signing secrets.
    encryption_keys: SecretStr = SecretStr("dev:" + DEV_ENCRYPTION_KEY)

    #: An unfinished payment expires this long after `created_date` (§9.3: 90 minutes).
    payment_lifetime_seconds: int = 5400
    #: A `capturable` payment expires this long after `created_date` (§9.3: 120 hours).
    capture_window_seconds: int = 432_000
    #: A payment whose authorisation is in progress is left alone this long after its last change (§9.3).
    authorisation_grace_seconds: int = 300
    #: `next_url` token rows are kept this long (§9.3); they are single-use anyway.
    token_retention_seconds: int = 604_800
    #: An `Idempotency-Key` is remembered this long from first use (§4.5).
    idempotency_ttl_seconds: int = 86_400
    #: Background capture: attempts and the pause between them (§9.3).
    capture_max_attempts: int = 26
    capture_retry_seconds: int = 3600
    #: `/v1/auth` waits this long for the provider before the payment ends in `error` (§7).
    authorisation_timeout_seconds: float = 10.0
    #: A payment page waits this long for the provider before it shows `auth_waiting` (§9.3: 1000 ms); the
    #: authorisation carries on in the background until `authorisation_timeout_seconds`.
    page_auth_wait_ms: int = 1000
    #: The sandbox answers after this delay (§13.5), so slow providers can be simulated.
    sandbox_auth_delay_ms: int = 0
    #: The sandbox's dispute cards (§13.5): a dispute opens this long after the payment is captured, moves from
    #: `needs_response` to `under_review` this long after opening (the service's evidence is in), and is decided
    #: this long after that. The worker's `disputes` job runs every 10 s, so each step may be up to 10 s later.
    sandbox_dispute_open_seconds: float = Field(default=60.0, ge=0)
    sandbox_dispute_review_seconds: float = Field(default=60.0, ge=0)
    sandbox_dispute_decide_seconds: float = Field(default=60.0, ge=0)
    #: A live account normally needs a real provider; this lets a live account use the sandbox (demos, tests).
    allow_sandbox_live: bool = False
    #: A webhook delivery attempt gives up after this long (§12: 3 s).
    webhook_timeout_seconds: float = 3.0
    #: Test accounts may call back to loopback and private addresses (a developer's machine, the tests); live
    #: accounts never may (§12, SSRF).
    webhook_allow_private_test: bool = False
    #: Confirmation emails (§13.1) go through notify, reached through the gateway like any department's call;
    #: defaults to the platform's public base URL.
    notify_base_url: str = ""
    #: The live Notify key of the platform organisation's pay service (`gaap up`'s seed step makes it). Empty: no
    #: confirmation email is queued, and the API and worker say so when they start.
    notify_api_key: SecretStr = SecretStr("")
    #: One call to notify gives up after this long; the worker retries later (`receipts/delivery.py`).
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    #: The pause after a confirmation email's first failed attempt; it doubles after each one, up to an hour.
    notify_retry_seconds: float = Field(default=30.0, gt=0)

    # The worker's recovery timings (ARCHITECTURE rules 2 and 3). Production keeps the defaults; the reliability
    # suite shortens them so a crashed worker's work comes back within its time budget.
    #: How long a claim holds a payment or refund while the worker calls the provider (capture, void, refund).
    provider_lease_seconds: float = Field(default=90.0, gt=0)
    #: How long a claim holds a webhook message during one attempt; longer than the attempt (the webhook timeout
    #: plus the callback host's lookup), which the worker checks at start-up.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    #: How long one job may run. A worker that dies mid-job leaves the job marked as running for this long plus
    #: 15 s, and nothing runs it again before then: this bounds how late the work a crashed worker held is done.
    job_timeout_seconds: float = Field(default=300.0, gt=0)
    #: How far past its due time (or its lease) a capture, void or refund must be before the sweeper queues it
    #: again, and how often those sweeps run (whole seconds dividing a minute or an hour): this bounds how late the
    #: work whose job Redis lost is done. The webhook relay keeps its own 5 s period.
    overdue_grace_seconds: float = Field(default=120.0, gt=0)
    sweep_every_seconds: int = Field(default=60, gt=0)

    @field_validator("notify_api_key")
    @classmethod
    def _is_notify_key(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value():
            try:
                NotifyKey(value.get_secret_value())
            except ValueError:
                raise ValueError("PAY_NOTIFY_API_KEY is not a Notify API key (…-<service id>-<secret>)") from None
        return value

    @model_validator(mode="after")
    def _job_outlasts_leases(self) -> PaySettings:
        if self.job_timeout_seconds <= max(self.provider_lease_seconds, self.webhook_lease_seconds):
            raise ValueError(
                "PAY_JOB_TIMEOUT_SECONDS must be above PAY_PROVIDER_LEASE_SECONDS and PAY_WEBHOOK_LEASE_SECONDS"
            )
        return self

    @property
    def provider_lease(self) -> timedelta:
        return timedelta(seconds=self.provider_lease_seconds)

    @property
    def webhook_lease(self) -> timedelta:
        return timedelta(seconds=self.webhook_lease_seconds)

    @property
    def overdue_grace(self) -> timedelta:
        return timedelta(seconds=self.overdue_grace_seconds)

    @property
    def sweep_every(self) -> timedelta:
        return timedelta(seconds=self.sweep_every_seconds)

    def register_encryption(self) -> None:
        """Make `encryption_keys` the keyring of pay's encrypted columns (once per process, at start-up)."""
        register_box(ENCRYPTION_BOX, SecretBox(self.encryption_keys.get_secret_value(), associated=b"gaap-pay"))

    @property
    def api_root(self) -> str:
        return self.public_url(self.api_base_url)

    @property
    def frontend_root(self) -> str:
        return self.public_url(self.frontend_base_url)

    @property
    def notify_root(self) -> str:
        return self.public_url(self.notify_base_url)

    @property
    def sends_confirmation_emails(self) -> bool:
        return bool(self.notify_api_key.get_secret_value())
