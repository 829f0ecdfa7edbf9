"""Notify settings (prefix `NOTIFY_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from gaap.settings import DEV_ENCRYPTION_KEY, ComponentSettings


class NotifySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")
    component: ClassVar[str] = "notify"
    origin_fields: ClassVar[tuple[str, ...]] = ("public_base_url", "admin_base_url")
    secret_fields: ClassVar[tuple[str, ...]] = ("principal_keys", "encryption_keys")

    #: Origin used to build every absolute URL in responses (`uri`, `links.*`); defaults to the platform's.
    public_base_url: str = ""
    #: AES-GCM keyring ("kid:base64[,...]") for message content and personalisation at rest.
    encryption_keys: SecretStr = SecretStr("dev:" + DEV_ENCRYPTION_KEY)
    #: The domain of sending addresses and of `Message-ID`s.
    email_domain: str = "notifications.gaap.test"
    #: The admin console's base URL, used in a few reference messages.
    admin_base_url: str = ""
    trial_mode_url: str = "https://www.notifications.service.gov.uk/trial-mode"
    #: notify spec §3.2: restore the reference 401 on the template versions route.
    strict_parity: bool = False
    #: notify spec §18.2: how far ahead a service with `schedule_notifications` may schedule.
    schedule_horizon_days: int = 7
    #: The developer inbox (`/v2/inbox/*`): the SMTP sink's Maildir and the fake SMS provider's store. Empty means no
    #: inbox (the endpoints answer 404), and outside development mode the inbox stays off even when these are set.
    dev_maildir: str = ""
    dev_sms_store: str = ""
    #: The email relay the worker delivers through (notify spec §16): `smtp://[user:password@]host[:port]` (no TLS;
    #: for a relay on the same host or the development sink), `smtp+starttls://...` (STARTTLS required, port 587 by
    #: default) or `smtps://...` (TLS from the first byte, port 465). A secret, since it may carry a password.
    smtp_url: SecretStr = SecretStr("smtp://127.0.0.1:1025")
    #: How long one hand-over to the relay may take, connection included, before it counts as a provider exception
    #: and is retried (§16.3). Shorter than the delivery lease, which the worker checks at start-up.
    smtp_timeout_seconds: float = 30.0
    #: The email provider's name: the `sent_by` of the rows it accepts and the `<provider>` of its receipt webhook,
    #: `/notifications/email/<provider>` (§16.5).
    email_provider: str = "smtp"
    #: `user:password` the email provider sends with its receipts (HTTP Basic). Empty: every receipt is refused.
    email_receipt_credentials: SecretStr = SecretStr("")

    @property
    def public_root(self) -> str:
        return self.public_url(self.public_base_url) + "/"

    @property
    def console_url(self) -> str:
        return self.public_url(self.admin_base_url) + "/console"
