"""Every notification query lives here."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.notifications.models import Notification
from services.notify.statuses import ALIASES
from services.notify.tenancy.models import DataRetention

DEFAULT_RETENTION_DAYS = 7
PAGE_SIZE = 250


async def retention_cutoffs(
    session: AsyncSession, service_id: uuid.UUID, now: datetime | None = None
) -> dict[str, datetime]:
    now = now or utcnow()
    rows = (await session.execute(select(DataRetention).where(DataRetention.service_id == service_id))).scalars()
    days = {"email": DEFAULT_RETENTION_DAYS, "sms": DEFAULT_RETENTION_DAYS, "letter": DEFAULT_RETENTION_DAYS}
    days.update({row.notification_type: row.days_of_retention for row in rows})
    return {channel: now - timedelta(days=d) for channel, d in days.items()}


def _within(cutoffs: dict[str, datetime]) -> Any:
    return or_(
        *(
            and_(Notification.notification_type == channel, Notification.created_at >= cutoff)
            for channel, cutoff in cutoffs.items()
        )
    )


async def get(session: AsyncSession, service_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
    row = await session.get(Notification, notification_id)
    if row is None or row.service_id != service_id:
        return None
    cutoffs = await retention_cutoffs(session, service_id)
    if row.created_at < cutoffs.get(row.notification_type, row.created_at):
        return None
    return row


async def page(
    session: AsyncSession,
    service_id: uuid.UUID,
    key_type: str,
    *,
    template_types: list[str] | None = None,
    statuses: list[str] | None = None,
    reference: str | None = None,
    older_than: uuid.UUID | None = None,
    include_jobs: bool = False,
) -> list[Notification]:
    query = select(Notification).where(
        Notification.service_id == service_id,
        Notification.key_type == key_type,
        _within(await retention_cutoffs(session, service_id)),
    )
    if template_types:
        query = query.where(Notification.notification_type.in_(template_types))
    if statuses:
        expanded = {s for status in statuses for s in ALIASES.get(status, (status,))}
        query = query.where(Notification.status.in_(sorted(expanded)))
    if reference is not None:
        query = query.where(Notification.client_reference == reference)
    if not include_jobs:
        query = query.where(Notification.job_id.is_(None))
    if older_than is not None:
        anchor = await session.get(Notification, older_than)
        if anchor is None or anchor.service_id != service_id:
            return []
        query = query.where(
            or_(
                Notification.created_at < anchor.created_at,
                and_(Notification.created_at == anchor.created_at, Notification.id < anchor.id),
            )
        )
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(PAGE_SIZE)
    return list((await session.execute(query)).scalars())
