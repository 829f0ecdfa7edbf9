"""Idempotency records are database rows, completed in the transaction that stores the notification
(ARCHITECTURE rule 3), so a replay can never disagree with what was stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.types import GUID, EncryptedJSON, UTCDateTime
from services.notify.models import Base

IN_PROGRESS, COMPLETED = "in_progress", "completed"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    key_type: Mapped[str] = mapped_column(String(16), nullable=False)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    #: SHA-256 of the canonical JSON body.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=IN_PROGRESS)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("notify"), nullable=True)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("service_id", "key_type", "path", "key"),
        Index("ix_idempotency_keys_state_created_at", "state", "created_at"),
    )
