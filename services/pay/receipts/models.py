"""The outbox of confirmation emails (pay spec §13.1).

A row is written in the transaction in which the payer confirms the payment, so an email exists exactly when the
confirmation committed; it is also the job of the `receipts` lane (`LeasedWork`), claimed with a lease. Its key is
the payment's id, so a payment has at most one confirmation email whatever happens. What the email says is fixed
when the row is written (the payment as confirmed), so every retry sends the same thing, under the same
`Idempotency-Key`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import UTCDateTime
from gaap.jobs import LeasedWork
from services.pay.models import Base

PENDING = "PENDING"
SENT = "SENT"
#: Notify refused the email for good (400: an address it will not send to), or the retries ran out.
FAILED = "FAILED"


class ConfirmationEmail(LeasedWork, Base):
    __tablename__ = "confirmation_emails"

    #: The payment's id: one confirmation email per payment.
    id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), primary_key=True)
    #: `PENDING`, `SENT` or `FAILED`.
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The payment's language, which picks the template (`en` or `cy`, §13.7).
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    email_address: Mapped[str] = mapped_column(String(254), nullable=False)
    #: The template's placeholders, as they were when the payer confirmed.
    personalisation: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: Notify's id for the email, once notify has accepted it.
    notification_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: Why the last attempt failed.
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_confirmation_emails_status_next_attempt_at", "status", "next_attempt_at"),)
