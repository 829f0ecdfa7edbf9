"""Retention (notify spec §16.6): what is left of a notification once its retention has passed, and the nightly
purge that leaves only that.

The purge moves each expired row to `notification_history` and deletes it from `notifications`, in one
transaction per batch. History keeps what billing, usage statistics and support questions ("was it delivered,
when, by whom?") need, and none of the personal data: no recipient (`to`, `normalised_to`), no personalisation,
no rendered body or subject, no reply-to or unsubscribe link, no sender's name. So it has no encrypted columns,
and the public API never serves it: a GET answers 404 once the notification has left `notifications`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, Float, Index, Integer, String, delete, exists, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.db.types import GUID, UTCDateTime
from gaap.logging import get_logger
from services.notify.models import Base
from services.notify.notifications.models import NOTIFICATION_TYPES, Notification
from services.notify.notifications.repository import DEFAULT_RETENTION_DAYS
from services.notify.tenancy.models import DataRetention

log = get_logger("notify.retention")

LONDON = ZoneInfo("Europe/London")
#: Rows moved per transaction: small enough to keep each transaction's locks and undo short.
PURGE_BATCH = 1000


class NotificationHistory(Base):
    __tablename__ = "notification_history"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    #: No foreign key: history outlives whatever the services table does with the service.
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    template_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    key_type: Mapped[str] = mapped_column(String(16), nullable=False)
    job_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    notification_type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    client_reference: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: The provider's message id, for matching late receipts and provider statements.
    reference: Mapped[str | None] = mapped_column(String(255), nullable=True)
    billable_units: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_multiplier: Mapped[float] = mapped_column(Float, nullable=False)
    international: Mapped[bool] = mapped_column(Boolean, nullable=False)
    phone_prefix: Mapped[str | None] = mapped_column(String(8), nullable=True)
    postage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    process_type: Mapped[str] = mapped_column(String(16), nullable=False)
    sent_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        Index("ix_notification_history_service_id_created_at", "service_id", "created_at"),
        Index(
            "ix_notification_history_service_id_type_created_at",
            "service_id",
            "notification_type",
            "created_at",
        ),
    )


#: The columns copied from `notifications`: every history column, each of the same name there. Anything not listed
#: here (recipient, personalisation, content) is dropped with the row.
COPIED_COLUMNS: tuple[str, ...] = tuple(column.name for column in NotificationHistory.__table__.columns)


def retention_cutoff(days: int, now: datetime) -> datetime:
    """The start (London midnight, in UTC) of the oldest London day still kept, as GOV.UK Notify counts it.

    Rows created before it are past retention. The API's reads hide rows `days` days after creation, which is
    never earlier than this, so a purged row was already invisible.
    """
    today = now.astimezone(LONDON).date()
    return datetime.combine(today - timedelta(days=days), time(0), tzinfo=LONDON).astimezone(UTC)


async def purge_expired(db: Database, *, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Move every notification past its service's retention for its channel to history; returns how many.

    A service's `service_data_retention` row for a channel overrides the default of 7 days. Test-key rows are
    purged like any other. Safe to run twice or side by side: each batch locks the rows it moves (PostgreSQL
    skips rows another run holds; SQLite runs writers one at a time) and commits the copy and the delete together.
    """
    now = now or utcnow()
    async with db.read_session() as session:
        overrides = (
            await session.execute(
                select(DataRetention.service_id, DataRetention.notification_type, DataRetention.days_of_retention)
            )
        ).all()
    moved = 0
    for channel in NOTIFICATION_TYPES:
        of_channel = Notification.notification_type == channel
        for override in (o for o in overrides if o.notification_type == channel):
            moved += await _move(
                db,
                batch,
                of_channel,
                Notification.service_id == override.service_id,
                Notification.created_at < retention_cutoff(override.days_of_retention, now),
            )
        has_override = exists().where(
            DataRetention.service_id == Notification.service_id, DataRetention.notification_type == channel
        )
        moved += await _move(
            db,
            batch,
            of_channel,
            ~has_override,
            Notification.created_at < retention_cutoff(DEFAULT_RETENTION_DAYS, now),
        )
    log.info("notify.retention.purged", moved=moved, cutoff_default=retention_cutoff(DEFAULT_RETENTION_DAYS, now))
    return moved


async def _move(db: Database, batch: int, *criteria: ColumnElement[bool]) -> int:
    """Move the rows matching `criteria` to history, a batch per transaction; returns how many moved."""
    copied = [getattr(Notification, name) for name in COPIED_COLUMNS]
    moved = 0
    while True:
        async with db.write_session() as session:
            chosen = select(Notification.id).where(*criteria).order_by(Notification.created_at).limit(batch)
            ids = list((await session.execute(chosen.with_for_update(skip_locked=True))).scalars())
            if ids:
                # Copied inside the database: the encrypted columns are never read, let alone decrypted.
                rows = select(*copied).where(Notification.id.in_(ids))
                await session.execute(insert(NotificationHistory).from_select(list(COPIED_COLUMNS), rows))
                await session.execute(
                    delete(Notification).where(Notification.id.in_(ids)).execution_options(synchronize_session=False)
                )
        moved += len(ids)
        if len(ids) < batch:
            return moved


async def purge_job(ctx: dict[str, Any]) -> None:
    """The nightly Cron's entry point (03:00 UTC, once across all worker processes)."""
    await purge_expired(ctx["db"])
