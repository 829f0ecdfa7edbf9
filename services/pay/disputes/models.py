"""A dispute against a captured payment (pay spec §10).

The provider raises it; until then it may already be known that it will come (the sandbox's dispute cards), so a
row starts in the internal status `opening`, which no API shows. `next_step_at` is when the worker's `disputes`
job moves it on; every move is a conditional UPDATE on the status it expects (`disputes/service.py`).
`outcome` and `outcome_fee` are what the provider said will happen (the sandbox's scenario); `fee` and
`net_amount` are shown only once the dispute is lost, as GOV.UK Pay's ledger shows them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.pay.models import Base

OPENING, NEEDS_RESPONSE, UNDER_REVIEW, LOST, WON = "opening", "needs_response", "under_review", "lost", "won"
#: The statuses GOV.UK Pay shows (§10), in the order a dispute goes through them.
PUBLIC_STATUSES = (NEEDS_RESPONSE, UNDER_REVIEW, LOST, WON)
#: A payment with a dispute in one of these cannot be refunded (§6).
BLOCKS_REFUND = (NEEDS_RESPONSE, UNDER_REVIEW, LOST)
#: The reasons a paying user's bank gives (§10).
REASONS = (
    "credit_not_processed",
    "duplicate",
    "fraudulent",
    "general",
    "product_not_received",
    "product_unacceptable",
    "unrecognised",
    "subscription_cancelled",
    "other",
)


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False)
    #: The payment's account, copied so dispute search needs no join.
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    #: What the paying user disputes, in pence: the payment's total (amount plus any surcharge).
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    #: When the paying user's bank told us (`created_date`); set when the dispute opens.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    evidence_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The provider's dispute fee and what it takes from the payout (`-(amount + fee)`), once the dispute is lost.
    fee: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    net_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The day the provider took a lost dispute from a payout.
    settled_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: How the provider will decide (`won` or `lost`) and the fee it will charge if lost (None: it reports none).
    outcome: Mapped[str] = mapped_column(String(4), nullable=False)
    outcome_fee: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: When the `disputes` job next moves the dispute on; None once it is won or lost.
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["service_id", "mode"], ["accounts.service_id", "accounts.mode"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("outcome IN ('won', 'lost')", name="outcome_known"),
        Index("ix_disputes_account_opened_at", "service_id", "mode", "opened_at", "id"),
        Index("ix_disputes_payment_id", "payment_id"),
        Index("ix_disputes_status_next_step_at", "status", "next_step_at"),
    )
