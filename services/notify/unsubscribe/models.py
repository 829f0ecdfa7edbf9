"""One-click unsubscribe (notify spec §13.3): each recipient's request, once per email, and the reports that batch
them for the service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.types import GUID, EncryptedText, UTCDateTime
from services.notify.models import Base


class UnsubscribeReport(Base):
    """A batch of requests handed to the service together; made when the service asks for what is new."""

    __tablename__ = "unsubscribe_request_reports"
    __table_args__ = (Index("ix_unsubscribe_request_reports_service_id_created_at", "service_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    earliest_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    latest_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class UnsubscribeRequest(Base):
    """A recipient asked to stop getting a service's emails, from the link in one email. Kept apart from the
    notification, which retention removes long before the service has acted on the request."""

    __tablename__ = "unsubscribe_requests"
    __table_args__ = (Index("ix_unsubscribe_requests_service_id_report_id", "service_id", "report_id"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    #: Unique: a second click on the same email's link is the same request.
    notification_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False, unique=True)
    template_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    email_address: Mapped[str] = mapped_column(EncryptedText("notify"), nullable=False)
    client_reference: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    notification_created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(), ForeignKey("unsubscribe_request_reports.id"), nullable=True
    )
