"""Tenant tables. Relationships are `lazy="raise"`: an accidental lazy load fails in tests, not in production."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import TimestampMixin
from gaap.db.types import GUID, UTCDateTime
from gateway.models import Base

ROLES = (
    "admin",
    "manage_templates",
    "send_messages",
    "view_payments",
    "refund_payments",
    "manage_api_keys",
)


class Organisation(TimestampMixin, Base):
    """A department or public body."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("uq_organisations_name_active", "name", unique=True),)


class Service(TimestampMixin, Base):
    """One digital service of an organisation: what API keys, templates, payments and sign-in clients belong to."""

    __tablename__ = "services"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("organisations.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Trial mode: team and test keys only, sends only to the team and guest list (notify spec §3.4).
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: Notify's per-minute send limit per key type (notify spec §11.1).
    rate_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=3000)
    #: Pay's rate-limit tier: "default", "elevated" or "low" (pay spec §4.4).
    pay_rate_tier: Mapped[str] = mapped_column(String(16), nullable=False, default="default")
    #: Each component's own settings for this service (`{"notify": {...}}`), validated by that component when
    #: the gateway pushes them: the gateway stores and forwards them without interpreting them.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        Index("ix_services_organisation_id", "organisation_id"),
    )


class TeamMember(TimestampMixin, Base):
    """A person who works on a service, with the roles they hold there."""

    __tablename__ = "team_members"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("services.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    mobile_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_team_members_service_id_email", "service_id", "email"),)
