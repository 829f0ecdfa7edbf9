"""Payment links (pay spec §15 B4), the service slugs their public addresses use, and the payments made through
them.

A link belongs to one account (service, mode) and is reached at `/link/{service_slug}/{slug}`. A service slug is
claimed by the first service that uses it (`payment_link_service_slugs`), so no other service can publish links
under a name a citizen associates with another; the pair of slugs is unique, so every address names one link. A
payment made through a link is an ordinary `web` payment; `payment_link_payments` records which link it came from,
under an ID of its own that the link's confirmation page is addressed by (the payment's `return_url` is fixed
before the payment exists).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.pay.models import Base

SLUG_LENGTH = 60


class LinkServiceSlug(Base):
    """The first part of a link's address, owned by the service that claimed it."""

    __tablename__ = "payment_link_service_slugs"

    service_slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class PaymentLink(Base):
    __tablename__ = "payment_links"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    service_slug: Mapped[str] = mapped_column(
        String(SLUG_LENGTH), ForeignKey("payment_link_service_slugs.service_slug"), nullable=False
    )
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), nullable=False)
    #: The page's heading.
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    #: What the payment is for: shown on the page and recorded as each payment's `description`.
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    #: A fixed amount in pence; None when the payer enters it, within `min_amount`..`max_amount`.
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    min_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The label of the reference the payer enters; None when each payment gets a generated reference.
    reference_label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reference_hint: Mapped[str | None] = mapped_column(String(255), nullable=True)
    language: Mapped[str] = mapped_column(String(2), nullable=False)
    #: Copied into each payment's `metadata` (the service's reporting columns).
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    #: Set once, when the link is archived: its address then says it is no longer available.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["service_id", "mode"], ["accounts.service_id", "accounts.mode"]),
        CheckConstraint(
            "(amount IS NOT NULL AND min_amount IS NULL AND max_amount IS NULL) OR (amount IS NULL)",
            name="fixed_amount_or_range",
        ),
        Index("uq_payment_links_address", "service_slug", "slug", unique=True),
        Index("ix_payment_links_account_created_at", "service_id", "mode", "created_at"),
    )

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class LinkPayment(Base):
    """A payment made through a link."""

    __tablename__ = "payment_link_payments"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    link_id: Mapped[str] = mapped_column(String(26), ForeignKey("payment_links.id"), nullable=False)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_payment_link_payments_link_id", "link_id"),)
