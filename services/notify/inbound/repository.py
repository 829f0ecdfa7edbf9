"""Every inbound number and inbound text message query lives here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.inbound.models import InboundNumber, InboundSms

PAGE_SIZE = 250


async def number(session: AsyncSession, value: str) -> InboundNumber | None:
    query = select(InboundNumber).where(InboundNumber.number == value)
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession, service_id: uuid.UUID, *, since: datetime, older_than: uuid.UUID | None = None
) -> list[InboundSms]:
    """Newest first, from `since` on. With `older_than`, only rows that sort after that message; one that is not
    the service's (or is gone) gives an empty page, as in GOV.UK, whose subquery then finds no timestamp."""
    query = select(InboundSms).where(InboundSms.service_id == service_id, InboundSms.created_at >= since)
    if older_than is not None:
        anchor = await session.get(InboundSms, older_than)
        if anchor is None or anchor.service_id != service_id:
            return []
        query = query.where(
            or_(
                InboundSms.created_at < anchor.created_at,
                and_(InboundSms.created_at == anchor.created_at, InboundSms.id < anchor.id),
            )
        )
    query = query.order_by(InboundSms.created_at.desc(), InboundSms.id.desc()).limit(PAGE_SIZE)
    return list((await session.execute(query)).scalars())
