"""Identity's own security-event log (spec §2): sign-ins, lockouts, key operations, logout failures.

Each event is a row written in the transaction of the change it records, so the log never claims a change that was
rolled back. Personal data stays out of `detail` (user ids, not email addresses).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.logging import get_logger
from services.identity.models import Base

log = get_logger("identity.events")


class SecurityEvent(Base):
    __tablename__ = "security_events"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True, index=True)
    client_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


def record(
    session: AsyncSession,
    type: str,
    *,
    user_id: uuid.UUID | None = None,
    client_id: str | None = None,
    **detail: Any,
) -> None:
    """Add an event to the session's transaction (it is written when the request's session commits)."""
    session.add(SecurityEvent(type=type, user_id=user_id, client_id=client_id, detail=detail, created_at=utcnow()))
    log.info("identity.security_event", kind=type, user_id=str(user_id) if user_id else None, client_id=client_id)
