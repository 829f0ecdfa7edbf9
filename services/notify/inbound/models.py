"""Inbound numbers and the text messages received on them (notify spec §15, §16.7).

A number belongs to at most one service at a time; the pool is the rows with no service. The message keeps the
number it arrived on, so a number later moved to another service does not move its history with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedText, UTCDateTime
from services.notify.models import Base


class InboundNumber(Base):
    __tablename__ = "inbound_numbers"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    #: E.164 without the `+` (`447700900111`), the form providers are matched in.
    number: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    #: None while the number is spare in the pool.
    service_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("services.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (Index("ix_inbound_numbers_service_id", "service_id"),)


class InboundSms(Base):
    __tablename__ = "inbound_sms"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    #: The service's number the message was sent to, as stored on `inbound_numbers`.
    notify_number: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The sender: E.164 without the `+` when it parses as a phone number, else as the provider gave it.
    user_number: Mapped[str] = mapped_column(String(255), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    provider_reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: What a member of the public wrote is personal data: encrypted at rest (`NOTIFY_ENCRYPTION_KEYS`).
    content: Mapped[str] = mapped_column(EncryptedText("notify"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_inbound_sms_service_id_created_at", "service_id", "created_at"),
        #: A provider that re-posts a message (it missed our 200) has it stored once.
        Index("uq_inbound_sms_provider_provider_reference", "provider", "provider_reference", unique=True),
    )
