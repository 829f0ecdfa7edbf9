"""Templates and their history (notify spec §16.7). `templates` holds the current version; `templates_history`
holds every version, so a notification can always be rendered from the version it was sent with."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.notify.models import Base

TEMPLATE_TYPES = ("sms", "email", "letter")
PROCESS_TYPES = ("normal", "priority", "bulk")
POSTAGE = ("first", "second", "economy")


class _TemplateColumns:
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    template_type: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    postage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    process_type: Mapped[str] = mapped_column(String(16), nullable=False, default="normal")
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    has_unsubscribe_link: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reply_to: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Template(_TemplateColumns, Base):
    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (Index("ix_templates_service_id_name", "service_id", "name"),)


class TemplateHistory(_TemplateColumns, Base):
    __tablename__ = "templates_history"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
