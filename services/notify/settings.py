"""Notify settings (prefix `NOTIFY_`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import ClassVar

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from gaap.settings import DEV_ENCRYPTION_KEY, ComponentSettings

_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def _name(value: str) -> str:
    name = value.strip()
    if not _PROVIDER_NAME.match(name):
        raise ValueError(f"{name!r} is not a provider name (lower-case letters, digits, '-' and '_')")
    return name


@lru_cache(maxsize=16)
def provider_weights(raw: str) -> Mapping[str, int]:
    """`mmg:51,firetext:49` → {"mmg": 51, "firetext": 49}: each provider's resting weight, 0 to 100.

    Parsed once per distinct value (the settings are read on every receipt), and read-only, since it is shared.
    """
    weights: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _, weight = part.partition(":")
        if not weight.strip().isdigit() or not 0 <= int(weight) <= 100:
            raise ValueError(f"{part!r}: write each provider as name:weight, a weight from 0 to 100")
        weights[_name(name)] = int(weight)
    if not weights:
        raise ValueError("name at least one provider, as name:weight")
    return MappingProxyType(weights)


@lru_cache(maxsize=16)
def provider_names(raw: str) -> frozenset[str]:
    """`mmg,firetext` → {"mmg", "firetext"}."""
    return frozenset(_name(part) for part in raw.split(",") if part.strip())


@lru_cache(maxsize=16)
def provider_credentials(raw: str) -> Mapping[str, str]:
    """`mmg=user:password,firetext=user:password` → {"mmg": "user:password", ...} (a password may not hold `,`)."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, equals, pair = part.partition("=")
        user, colon, password = pair.partition(":")
        if not (equals and colon and user and password):
            raise ValueError("write each provider's credentials as provider=user:password")
        found[_name(name)] = pair
    return MappingProxyType(found)


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
    #: The SMS providers texts are sent through and their resting weights (notify spec §16.4), `name:weight,...`:
    #: each text goes to one of them by weighted random choice, and errors move weight from one to the other.
    #: Adapters exist for `mmg` and `firetext`.
    sms_providers: str = "mmg:51,firetext:49"
    #: Those of `sms_providers` that can send to international numbers (§16.1), comma-separated.
    sms_international_providers: str = "mmg"
    #: Where the providers' HTTP APIs are: provider `<name>` at `<url>/<name>/messages` (the fake provider of
    #: `gaap up`, `gaap.embedded.fake_sms`, serves both there).
    sms_provider_url: str = "http://127.0.0.1:8026"
    #: How notify signs in to each provider's API (HTTP Basic): `mmg=user:password,firetext=user:password`.
    sms_provider_credentials: SecretStr = SecretStr("")
    #: What each provider sends with its receipts and inbound texts (HTTP Basic), in the same form. A provider
    #: missing here has every webhook refused.
    sms_webhook_credentials: SecretStr = SecretStr("")
    #: How long one hand-over to an SMS provider may take before it counts as a provider exception (§16.3);
    #: below the delivery lease, which the worker checks at start-up.
    sms_timeout_seconds: float = 20.0
    #: The print provider letters are handed to (notify spec §16.5): its name is the `sent_by` of the letters it
    #: takes and the `<provider>` of its report webhook, `/notifications/letter/<provider>`.
    print_provider: str = "print"
    #: Where its HTTP API is: batches go to `<url>/batches` (the fake print provider of `gaap up`,
    #: `gaap.embedded.fake_print`, serves it there).
    print_provider_url: str = "http://127.0.0.1:8027"
    #: How notify signs in to the print provider's API (HTTP Basic), `user:password`.
    print_provider_credentials: SecretStr = SecretStr("")
    #: `user:password` the print provider sends with its reports (HTTP Basic). Empty: every report is refused.
    print_webhook_credentials: SecretStr = SecretStr("")
    #: How long one batch hand-over may take before it counts as a provider exception (§16.3).
    print_timeout_seconds: float = Field(default=60.0, gt=0, le=300)
    #: Letters per batch; a batch also closes before its PDFs pass 16 MiB.
    print_batch_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("print_provider")
    @classmethod
    def _print_provider(cls, value: str) -> str:
        return _name(value)

    @field_validator("print_provider_credentials", "print_webhook_credentials")
    @classmethod
    def _user_password(cls, value: SecretStr) -> SecretStr:
        user, colon, password = value.get_secret_value().partition(":")
        if value.get_secret_value() and not (colon and user and password):
            raise ValueError("write the credentials as user:password")
        return value

    @field_validator("sms_providers", "sms_international_providers")
    @classmethod
    def _providers(cls, value: str, info: ValidationInfo) -> str:
        (provider_weights if info.field_name == "sms_providers" else provider_names)(value)
        return value

    @field_validator("sms_provider_credentials", "sms_webhook_credentials")
    @classmethod
    def _credentials(cls, value: SecretStr) -> SecretStr:
        provider_credentials(value.get_secret_value())
        return value

    @property
    def sms_resting_weights(self) -> Mapping[str, int]:
        return provider_weights(self.sms_providers)

    @property
    def sms_international(self) -> frozenset[str]:
        return provider_names(self.sms_international_providers)

    def sms_api_credentials(self, provider: str) -> str | None:
        """`user:password` for `provider`'s API, or None."""
        return provider_credentials(self.sms_provider_credentials.get_secret_value()).get(provider)

    def sms_webhook_credential(self, provider: str) -> str | None:
        """`user:password` that `provider` posts its receipts and inbound texts with, or None."""
        return provider_credentials(self.sms_webhook_credentials.get_secret_value()).get(provider)

    @property
    def public_root(self) -> str:
        return self.public_url(self.public_base_url) + "/"

    @property
    def console_url(self) -> str:
        return self.public_url(self.admin_base_url) + "/console"
