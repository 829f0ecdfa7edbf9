"""Notify's per-service records, pushed by the gateway (notify spec §16.7). Notify validates and owns this copy and
never reads the gateway's tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.notify.models import Base

PERMISSIONS = (
    "email",
    "sms",
    "letter",
    "international_sms",
    "sms_to_uk_landlines",
    "inbound_sms",
    "international_letters",
    "schedule_notifications",
)


class NotifyService(Base):
    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    rate_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=3000)
    email_message_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=50)
    sms_message_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=50)
    letter_message_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=20_000)
    international_sms_message_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    prefix_sms: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    email_sender_local_part: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    contact_link: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sms_unicode: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    permissions: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: The gateway's version of this record; an older push never overwrites a newer one.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    def has(self, permission: str) -> bool:
        return permission in self.permissions


class AllowedRecipient(Base):
    """Who team keys and trial-mode services may send to: team members (from the gateway) and the guest list."""

    __tablename__ = "service_allowed_recipients"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    recipient_type: Mapped[str] = mapped_column(String(16), nullable=False)  # "email" | "mobile"
    #: Normalised: lower-cased email, or E.164 digits without `+`.
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # "team" | "guest_list"

    __table_args__ = (UniqueConstraint("service_id", "recipient_type", "recipient", "source"),)


class SmsSender(Base):
    __tablename__ = "service_sms_senders"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    sms_sender: Mapped[str] = mapped_column(String(11), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_service_sms_senders_service_id", "service_id"),)


class EmailReplyTo(Base):
    __tablename__ = "service_email_reply_to"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    email_address: Mapped[str] = mapped_column(String(320), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_service_email_reply_to_service_id", "service_id"),)


class LetterContact(Base):
    __tablename__ = "service_letter_contacts"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    contact_block: Mapped[str] = mapped_column(String(1000), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (Index("ix_service_letter_contacts_service_id", "service_id"),)


class DataRetention(Base):
    __tablename__ = "service_data_retention"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    notification_type: Mapped[str] = mapped_column(String(16), nullable=False)
    days_of_retention: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (UniqueConstraint("service_id", "notification_type"),)
