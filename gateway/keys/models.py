"""Key tables. No secret is ever stored in the clear (ARCHITECTURE rule 6)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gateway.models import Base


class ApiKey(Base):
    """A key for one API. Notify keys keep their secret encrypted (HS256 needs it back); Pay keys keep only a
    keyed hash. `expiry_date` set means revoked; the row stays so Notify's "API key revoked" answer can be given."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    api: Mapped[str] = mapped_column(String(16), nullable=False)  # "notify" | "pay"
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Notify: "normal" (live), "team", "test". Pay: "live", "test" (the account mode).
    key_type: Mapped[str] = mapped_column(String(16), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    secret_encrypted: Mapped[str | None] = mapped_column(String(255), nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expiry_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_api_keys_service_id", "service_id"),
        Index("uq_api_keys_secret_hash", "secret_hash", unique=True),
    )

    @property
    def revoked(self) -> bool:
        return self.expiry_date is not None


class AdminToken(Base):
    """A platform operator's token for the gateway's admin API. Only a keyed hash is stored."""

    __tablename__ = "admin_tokens"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
