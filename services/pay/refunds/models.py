"""A refund of a payment. Its amount is counted in the payment's `refunded_amount` from the moment it is created
(`submitted`), in the same transaction, under the payment's row lock; a refund that ends in `error` gives it back.
`LeasedWork` makes the row the job for the provider call the worker makes after the commit (the outbox)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.jobs import LeasedWork
from services.pay.models import Base

SUBMITTED, SUCCESS, ERROR = "submitted", "success", "error"


class Refund(LeasedWork, Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False)
    #: The payment's account, copied so refund search needs no join.
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=SUBMITTED)
    settled_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_account_created_at", "service_id", "mode", "created_at", "id"),
        Index("ix_refunds_payment_id_created_at", "payment_id", "created_at"),
        Index("ix_refunds_status_next_attempt_at", "status", "next_attempt_at"),
    )
