"""The outbox of tenant pushes. A change to a tenant writes its push rows in the same transaction as the change, so
a push can be late but is never lost; the gateway worker's sweeper retries what did not get through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from gaap.jobs import LeasedWork
from gateway.models import Base

PENDING, DELIVERED, REJECTED, SUPERSEDED = "pending", "delivered", "rejected", "superseded"


class TenantPush(LeasedWork, Base):
    __tablename__ = "tenant_pushes"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    component: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The path on the component's internal API, e.g. `/internal/services/<id>`.
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    #: Increases with every push of one resource; the service ignores one older than what it holds.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    #: The service's answer when it refused the document (shown to admins), or the last delivery failure.
    last_error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_tenant_pushes_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_tenant_pushes_component_path_status", "component", "path", "status"),
    )
