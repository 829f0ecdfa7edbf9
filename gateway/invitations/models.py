"""An invitation to join a service's team: sent by email, accepted once, by the person it was sent to, before it
expires. Only a keyed hash of its token is stored (ARCHITECTURE rule 6), so the database cannot be used to accept
one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import TimestampMixin
from gaap.db.types import GUID, UTCDateTime
from gateway.models import Base


class Invitation(TimestampMixin, Base):
    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Who sent it (their email), for the email and the team page.
    invited_by: Mapped[str] = mapped_column(String(320), nullable=False)
    #: HMAC-SHA256 of the link's token under the gateway's key pepper.
    token_hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The invitation email's notification id in notify.
    notification_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_invitations_service_id", "service_id"),
        Index("ix_invitations_email", "email"),
    )

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.cancelled_at is None and self.expires_at > now
