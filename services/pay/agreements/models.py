"""Agreements (pay spec §8) and the card instruments stored for them.

An agreement is the service's record of a payer's consent to recurring payments; its card is a `PaymentInstrument`,
saved by the provider when a set-up payment is authorised (pay keeps only the provider's token and the kept card
fields of §13.6). An instrument is a unit of work too (`LeasedWork`): one that is replaced, cancelled or never
confirmed is deleted at the provider by the worker, after the commit that decided it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.jobs import LeasedWork
from services.pay.models import Base

#: Agreement statuses (§8).
CREATED, ACTIVE, CANCELLED, INACTIVE = "created", "active", "cancelled", "inactive"
STATUSES = (CREATED, ACTIVE, CANCELLED, INACTIVE)


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    reference: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    user_identifier: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    #: The instrument recurring payments are taken from: the newest one a set-up payment confirmed.
    instrument_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["service_id", "mode"], ["accounts.service_id", "accounts.mode"]),
        Index("ix_agreements_account_created_at", "service_id", "mode", "created_at", "id"),
    )


#: Instrument statuses: saved by an authorised set-up payment that is not confirmed yet, in use, to be deleted at
#: the provider, deleted, or left after the provider refused every deletion attempt.
PENDING, IN_USE, DELETE_READY, DELETED, DELETE_FAILED = "PENDING", "ACTIVE", "DELETE_READY", "DELETED", "DELETE_FAILED"


class PaymentInstrument(LeasedWork, Base):
    __tablename__ = "payment_instruments"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(String(26), ForeignKey("agreements.id"), nullable=False)
    #: The set-up payment whose authorisation saved the card.
    setup_payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False, unique=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The provider's reference to the card it keeps; never card data (§13.6).
    token: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    card_brand: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    first_digits: Mapped[str | None] = mapped_column(String(6), nullable=True)
    last_digits: Mapped[str | None] = mapped_column(String(4), nullable=True)
    cardholder_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    card_expiry: Mapped[str | None] = mapped_column(String(5), nullable=True)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_payment_instruments_agreement_id", "agreement_id"),
        Index("ix_payment_instruments_status_next_attempt_at", "status", "next_attempt_at"),
    )
