"""The back-channel logout outbox (spec §7.4): one row per (logout event, client with a `BackChannelLogoutUri`),
committed with the logout that caused it, so a crash or a Redis outage delays a logout token but never loses it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.jobs import LeasedWork
from services.identity.models import Base

PENDING, SENT, FAILED = "pending", "sent", "failed"


class BackChannelLogout(LeasedWork, Base):
    __tablename__ = "backchannel_logouts"
    __table_args__ = (Index("ix_backchannel_logouts_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default=PENDING)
    client_id: Mapped[str] = mapped_column(String(128), nullable=False)
    #: That client's `sub` for the user: the token means "end every session of this subject" (no `sid`).
    sub: Mapped[str] = mapped_column(String(128), nullable=False)
    uri: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
