"""The notification row: the unit of durable work (ARCHITECTURE rule 2). It is committed before the API answers
201; the queue carries only its id; the delivery worker claims it with a leased conditional update."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedJSON, EncryptedText, UTCDateTime
from gaap.jobs import LeasedWork
from services.notify.models import Base
from services.notify.statuses import FINAL_STATUSES, STATUSES

__all__ = ["FINAL_STATUSES", "NOTIFICATION_TYPES", "STATUSES", "Notification"]

NOTIFICATION_TYPES = ("sms", "email", "letter")


class Notification(LeasedWork, Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    template_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    key_type: Mapped[str] = mapped_column(String(16), nullable=False)
    job_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    notification_type: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The recipient as given: a phone number, an email address, or a letter's address lines.
    to: Mapped[str] = mapped_column(Text, nullable=False)
    normalised_to: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="created")
    client_reference: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: The provider's message id, once handed over.
    reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Personal data is encrypted at rest (`NOTIFY_ENCRYPTION_KEYS`).
    personalisation: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("notify"), nullable=False, default=dict)
    #: The rendered content, kept so reads and the worker never re-render (and never disagree with the 201).
    body: Mapped[str] = mapped_column(EncryptedText("notify"), nullable=False, default="")
    subject: Mapped[str | None] = mapped_column(EncryptedText("notify"), nullable=True)
    billable_units: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rate_multiplier: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    international: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    phone_prefix: Mapped[str | None] = mapped_column(String(8), nullable=True)
    postage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reply_to_text: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    unsubscribe_link: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    process_type: Mapped[str] = mapped_column(String(16), nullable=False, default="normal")
    sent_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_notifications_service_id_created_at", "service_id", "created_at"),
        Index(
            "ix_notifications_service_id_notification_type_created_at", "service_id", "notification_type", "created_at"
        ),
        Index("ix_notifications_notification_type_status_created_at", "notification_type", "status", "created_at"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notifications_service_id_key_type_created_at", "service_id", "key_type", "created_at"),
        Index("ix_notifications_job_id_status", "job_id", "status"),
    )

    @property
    def completed_at(self) -> datetime | None:
        return self.updated_at if self.status in FINAL_STATUSES else None
