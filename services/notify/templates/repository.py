"""Every template query lives here."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.templates.models import Template, TemplateHistory


async def get(session: AsyncSession, service_id: uuid.UUID, template_id: uuid.UUID) -> Template | None:
    template = await session.get(Template, template_id)
    return template if template is not None and template.service_id == service_id else None


async def get_version(
    session: AsyncSession, service_id: uuid.UUID, template_id: uuid.UUID, version: int
) -> TemplateHistory | None:
    row = await session.get(TemplateHistory, (template_id, version))
    return row if row is not None and row.service_id == service_id else None


async def versions(session: AsyncSession, service_id: uuid.UUID, template_id: uuid.UUID) -> list[TemplateHistory]:
    query = (
        select(TemplateHistory)
        .where(TemplateHistory.id == template_id, TemplateHistory.service_id == service_id)
        .order_by(TemplateHistory.version.desc())
    )
    return list((await session.execute(query)).scalars())


async def list_visible(session: AsyncSession, service_id: uuid.UUID, template_type: str | None) -> list[Template]:
    query = select(Template).where(
        Template.service_id == service_id, Template.archived.is_(False), Template.hidden.is_(False)
    )
    if template_type:
        query = query.where(Template.template_type == template_type)
    return list((await session.execute(query.order_by(Template.name, Template.created_at))).scalars())
