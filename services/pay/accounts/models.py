"""An account is one (service, mode) pair (pay spec §3): `test` (always the sandbox) and `live` (a real provider
once configured). Payments belong to an account, and an account never sees another's, even the same service's other
mode. The gateway pushes the settings; pay validates and owns this copy and never reads the gateway's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.pay.models import Base

MODES = ("test", "live")


class Account(Base):
    __tablename__ = "accounts"

    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    mode: Mapped[str] = mapped_column(String(4), primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    service_name: Mapped[str] = mapped_column(String(255), nullable=False)
    #: False once the service is archived or switched off in the gateway.
    service_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: The provider adapter's name; None for a live account whose provider is not configured yet (403 P0940).
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: [[brand, "debit"|"credit"], ...] (§13.4).
    accepted_cards: Mapped[list[list[str]]] = mapped_column(JSON, nullable=False)
    block_prepaid_cards: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    collect_billing_address: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    email_collection_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="MANDATORY")
    allow_moto: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allow_moto_api: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recurring_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    allow_zero_amount: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Corporate card surcharges in pence by card type: {"credit": n, "debit": n, "prepaid_debit": n}.
    corporate_surcharges: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    redirect_to_service_immediately_on_terminal_state: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    allow_card_retry: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Send the payer a confirmation email when they confirm a payment (§13.1; GOV.UK Pay's `email_notifications`
    #: for "payment confirmed").
    email_notifications: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    #: The service's own paragraph in that email (GOV.UK Pay's custom paragraph); None for none.
    email_custom_paragraph: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Payment and refund creation switched off (403 P0941).
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The gateway's version of this record; an older push never overwrites a newer one.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    def accepts(self, brand: str, card_type: str | None) -> bool:
        """A card is accepted when its brand is, for its type; an unknown type needs the brand in either type."""
        pairs = {(b, t) for b, t in self.accepted_cards}
        if card_type is None:
            return any(b == brand for b, _t in pairs)
        return (brand, card_type) in pairs

    def surcharge_for(self, card_type: str | None, prepaid: bool) -> int:
        if card_type is None:
            return 0
        key = f"prepaid_{card_type}" if prepaid else card_type
        return int(self.corporate_surcharges.get(key, 0))
