"""Idempotency records are database rows, completed in the transaction of the effect they protect (ARCHITECTURE
rule 3), so a replay can never disagree with what was stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.types import GUID, UTCDateTime
from services.pay.models import Base

IN_PROGRESS, COMPLETED = "in_progress", "completed"


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    #: The scope (§4.5): account (service and mode), method, resolved path and key.
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    #: SHA-256 of the body re-serialised canonically (sorted keys, no whitespace; no body counts as `{}`).
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=IN_PROGRESS)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    #: The payment or refund the first request created, for replays that answer its current representation.
    resource_id: Mapped[str | None] = mapped_column(String(26), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        UniqueConstraint("service_id", "mode", "method", "path", "key"),
        Index("ix_idempotency_keys_state_created_at", "state", "created_at"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )
