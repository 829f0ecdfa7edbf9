"""Payments, their event ledger and their one-time `next_url` tokens.

`refunded_amount` is the running total of refunds in `submitted` or `success` (pay spec §6). The CHECK keeps the
invariant in both databases whatever the code does: no race can refund more than was paid. `LeasedWork` makes the
row the job for the background provider calls (capture, void), claimed with a lease (docs/jobs.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.jobs import LeasedWork
from services.pay.models import Base

#: An auto-incrementing key on both databases (SQLite only auto-increments an INTEGER PRIMARY KEY).
SERIAL = BigInteger().with_variant(Integer, "sqlite")


class Payment(LeasedWork, Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    return_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    #: Immutable after creation; `{}` is stored as None (§5.1).
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    #: `prefilled_cardholder_details` as sent, for the payment pages.
    prefilled: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    delayed_capture: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    moto: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    authorisation_mode: Mapped[str] = mapped_column(String(10), nullable=False)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The internal status (`states.Status`); the public one is derived from it.
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    # Kept card fields only (§13.6), once card details are accepted; columns, because searches filter on them.
    card_brand: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    first_digits: Mapped[str | None] = mapped_column(String(6), nullable=True)
    last_digits: Mapped[str | None] = mapped_column(String(4), nullable=True)
    cardholder_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    card_expiry: Mapped[str | None] = mapped_column(String(5), nullable=True)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    corporate_card_surcharge: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The payer was challenged with 3-D Secure (`authorisation_summary`, §5.2).
    three_ds_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    #: SHA-256 of the MOTO one-time token (`moto_api` payments only); the token itself is derived, never stored.
    auth_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    auth_token_used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    capture_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    captured_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    settled_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The agreement a set-up payment (`web`) saves its card to, or an `agreement` payment is taken under (§8).
    agreement_id: Mapped[str | None] = mapped_column(String(26), ForeignKey("agreements.id"), nullable=True)
    agreement_payment_type: Mapped[str | None] = mapped_column(String(11), nullable=True)
    #: On a declined `agreement` payment: whether the agreement may be used again (`state.can_retry`, §5.2).
    can_retry: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["service_id", "mode"], ["accounts.service_id", "accounts.mode"]),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount + coalesce(corporate_card_surcharge, 0)",
            name="refunded_amount_within_total",
        ),
        Index("ix_payments_account_created_at", "service_id", "mode", "created_at", "id"),
        Index("ix_payments_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_payments_status_created_at", "status", "created_at"),
        Index("ix_payments_agreement_id", "agreement_id"),
    )

    @property
    def total(self) -> int:
        """What the payer paid: `amount` plus any corporate card surcharge."""
        return self.amount + (self.corporate_card_surcharge or 0)


class PaymentEvent(Base):
    """One row per status change, written in the transaction of the change: the ledger behind `/events`."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_payment_events_payment_id_id", "payment_id", "id"),)


class NextUrlToken(Base):
    """A one-time `next_url` token (§13.2), stored as its SHA-256: a new one on every read of a web payment that
    is still open. The payment pages exchange it once; `used_by` (the SHA-256 of the exchanging `pay_session`'s
    ID) lets that browser alone use it again (refresh, back button). Rows are purged after
    `PAY_TOKEN_RETENTION_SECONDS`."""

    __tablename__ = "next_url_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    used_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_next_url_tokens_payment_id", "payment_id"),
        Index("ix_next_url_tokens_created_at", "created_at"),
    )
