"""The `jobs` table: one row per accepted bulk send. Its notifications carry its id in `notifications.job_id`, so
progress is counted from them and never kept twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.notify.models import Base

#: §18.6. Stored: `scheduled`, `in progress`, `cancelled`; `finished` is derived on read (nothing left `created`).
#: `pending`, `sending limits exceeded` and `error` are GOV.UK's states for work done after the 201; here a job is
#: checked whole before it is accepted, so they are never written.
JOB_STATUSES = ("pending", "scheduled", "in progress", "finished", "cancelled", "sending limits exceeded", "error")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    template_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    template_version: Mapped[int] = mapped_column(Integer, nullable=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    key_type: Mapped[str] = mapped_column(String(16), nullable=False)
    notification_count: Mapped[int] = mapped_column(Integer, nullable=False)
    job_status: Mapped[str] = mapped_column(String(32), nullable=False)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_jobs_service_id_created_at", "service_id", "created_at"),)
