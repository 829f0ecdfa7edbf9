"""The service document the gateway pushes (`PUT /internal/services/{id}`), validated here.

`settings` is the service's `settings["pay"]` in the gateway, which the gateway forwards without reading. Its
top-level account settings (§3) apply to both accounts; `test` and `live` override them per mode, and `live`
names the provider. A setting left out takes the §3 default.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gaap.errors import Unprocessable

Brand = Literal["visa", "master-card", "american-express", "diners-club", "discover", "jcb", "unionpay", "maestro"]
CardType = Literal["debit", "credit"]


class InvalidServiceDocument(Unprocessable):
    """A document pay cannot honour (422, shown in the console by the gateway)."""

    code = "InvalidServiceDocument"


class AcceptedCard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    brand: Brand
    type: CardType


class Surcharges(BaseModel):
    """Corporate card surcharges in pence (§3: none by default)."""

    model_config = ConfigDict(extra="forbid")
    credit: int = Field(default=0, ge=0, le=10_000_000)
    debit: int = Field(default=0, ge=0, le=10_000_000)
    prepaid_debit: int = Field(default=0, ge=0, le=10_000_000)


class AccountSettings(BaseModel):
    """Every §3 account setting; None means "not set here" (inherit, then the default)."""

    model_config = ConfigDict(extra="forbid")
    accepted_cards: list[AcceptedCard] | None = Field(default=None, max_length=16)
    block_prepaid_cards: bool | None = None
    collect_billing_address: bool | None = None
    email_collection_mode: Literal["MANDATORY", "OPTIONAL", "OFF"] | None = None
    allow_moto: bool | None = None
    allow_moto_api: bool | None = None
    recurring_enabled: bool | None = None
    allow_zero_amount: bool | None = None
    corporate_surcharges: Surcharges | None = None
    redirect_to_service_immediately_on_terminal_state: bool | None = None
    allow_card_retry: bool | None = None
    disabled: bool | None = None
    email_notifications: bool | None = None
    email_custom_paragraph: str | None = Field(default=None, max_length=5000)


class WebhookSettings(BaseModel):
    """One webhook of an account (§12). Pay keys it by `callback_url` within the account and generates its signing
    secret itself; a webhook left out of a later push becomes inactive."""

    model_config = ConfigDict(extra="forbid")
    callback_url: str = Field(min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=255)
    subscriptions: list[str] = Field(min_length=1, max_length=16)
    active: bool = True


class ModeSettings(AccountSettings):
    """What only one account (test or live) can have: webhooks call one account's events back."""

    webhooks: list[WebhookSettings] = Field(default_factory=list, max_length=10)


class LiveAccountSettings(ModeSettings):
    #: The provider adapter of the live account; absent until one is configured.
    provider: str | None = Field(default=None, min_length=1, max_length=32)


class PayServiceSettings(AccountSettings):
    test: ModeSettings = Field(default_factory=ModeSettings)
    live: LiveAccountSettings = Field(default_factory=LiveAccountSettings)


class ServiceDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=255)
    organisation_id: uuid.UUID | None = None
    active: bool
    settings: PayServiceSettings = Field(default_factory=PayServiceSettings)


class AccountState(BaseModel):
    mode: str
    provider: str | None
    disabled: bool
    allow_moto: bool
    allow_moto_api: bool
    allow_zero_amount: bool
    accepted_cards: list[list[str]]


class ServiceState(BaseModel):
    """What pay holds after applying a document."""

    id: uuid.UUID
    version: int
    name: str
    active: bool
    accounts: list[AccountState]
