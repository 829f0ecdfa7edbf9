"""Every query on unsubscribe requests and their reports."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.delivery.history import NotificationHistory
from services.notify.notifications.models import Notification
from services.notify.unsubscribe.models import UnsubscribeReport, UnsubscribeRequest

REPORTS_PAGE = 50


async def sent_email(session: AsyncSession, notification_id: uuid.UUID) -> Any:
    """The email a link came from (service, template, reference, when), from notifications or, after retention,
    from history; None when notify never sent it."""
    columns = ("service_id", "template_id", "template_version", "client_reference", "created_at")
    for table in (Notification, NotificationHistory):
        query = select(*(getattr(table, c) for c in columns)).where(
            table.id == notification_id, table.notification_type == "email"
        )
        row = (await session.execute(query)).first()
        if row is not None:
            return row
    return None


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> None:
    """One statement that leaves exactly one request per email, however often and however concurrently the link
    is followed."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(UnsubscribeRequest).values(**values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[UnsubscribeRequest.notification_id]))


async def claim_pending(session: AsyncSession, service_id: uuid.UUID, report_id: uuid.UUID) -> int:
    """Give every request not yet in a report to `report_id` in one conditional UPDATE, so two reports made at
    once never share a request."""
    result: Any = await session.execute(
        update(UnsubscribeRequest)
        .where(UnsubscribeRequest.service_id == service_id, UnsubscribeRequest.report_id.is_(None))
        .values(report_id=report_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def report_span(session: AsyncSession, report_id: uuid.UUID) -> Any:
    query = select(
        func.count(), func.min(UnsubscribeRequest.created_at), func.max(UnsubscribeRequest.created_at)
    ).where(UnsubscribeRequest.report_id == report_id)
    return (await session.execute(query)).one()


async def report(session: AsyncSession, service_id: uuid.UUID, report_id: uuid.UUID) -> UnsubscribeReport | None:
    found = await session.get(UnsubscribeReport, report_id)
    return found if found is not None and found.service_id == service_id else None


async def reports(session: AsyncSession, service_id: uuid.UUID) -> list[UnsubscribeReport]:
    query = (
        select(UnsubscribeReport)
        .where(UnsubscribeReport.service_id == service_id)
        .order_by(UnsubscribeReport.created_at.desc(), UnsubscribeReport.id)
        .limit(REPORTS_PAGE)
    )
    return list((await session.scalars(query)).all())


async def requests_of(session: AsyncSession, report_id: uuid.UUID) -> list[UnsubscribeRequest]:
    query = (
        select(UnsubscribeRequest)
        .where(UnsubscribeRequest.report_id == report_id)
        .order_by(UnsubscribeRequest.created_at, UnsubscribeRequest.id)
    )
    return list((await session.scalars(query)).all())
