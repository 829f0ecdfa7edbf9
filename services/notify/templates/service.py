"""Template rules: creating and changing templates (every content change is a new version), and rendering a
preview. Only flushes; the request's session commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.errors import BadRequestError, NoResultFound
from services.notify.rendering.email import render_email
from services.notify.rendering.placeholders import ListStyle, Personalisation, fill, missing
from services.notify.rendering.sms import render_sms
from services.notify.templates import repository as repo
from services.notify.templates.models import Template, TemplateHistory
from services.notify.tenancy.models import NotifyService

VERSIONED = ("name", "subject", "content", "postage", "process_type", "reply_to", "has_unsubscribe_link")


def _history(template: Template) -> TemplateHistory:
    return TemplateHistory(
        id=template.id,
        version=template.version,
        service_id=template.service_id,
        name=template.name,
        template_type=template.template_type,
        subject=template.subject,
        content=template.content,
        postage=template.postage,
        process_type=template.process_type,
        archived=template.archived,
        hidden=template.hidden,
        has_unsubscribe_link=template.has_unsubscribe_link,
        reply_to=template.reply_to,
        created_by=template.created_by,
        created_at=template.created_at,
        updated_at=template.updated_at,
    )


async def create(
    session: AsyncSession,
    service: NotifyService,
    *,
    name: str,
    template_type: str,
    content: str,
    subject: str | None = None,
    postage: str | None = None,
    process_type: str = "normal",
    reply_to: uuid.UUID | None = None,
    created_by: str = "",
    has_unsubscribe_link: bool = False,
    template_id: uuid.UUID | None = None,
) -> Template:
    template = Template(
        id=template_id or uuid.uuid4(),
        version=1,
        service_id=service.id,
        name=name,
        template_type=template_type,
        subject=subject if template_type != "sms" else None,
        content=content,
        postage=(postage or "second") if template_type == "letter" else None,
        process_type=process_type,
        reply_to=reply_to,
        created_by=created_by,
        has_unsubscribe_link=has_unsubscribe_link,
        created_at=utcnow(),
    )
    session.add(template)
    session.add(_history(template))
    await session.flush()
    return template


async def update(session: AsyncSession, template: Template, changes: dict[str, Any]) -> Template:
    """Apply changes; a change to what a message would say makes a new version."""
    changed = {k: v for k, v in changes.items() if getattr(template, k) != v}
    if not changed:
        return template
    for key, value in changed.items():
        setattr(template, key, value)
    template.updated_at = utcnow()
    if any(k in VERSIONED for k in changed):
        template.version += 1
        session.add(_history(template))
    else:
        row = await session.get(TemplateHistory, (template.id, template.version))
        if row is not None:
            for key, value in changed.items():
                setattr(row, key, value)
    await session.flush()
    return template


async def archive(session: AsyncSession, template: Template) -> Template:
    return await update(session, template, {"archived": True})


async def require(session: AsyncSession, service: NotifyService, template_id: uuid.UUID) -> Template:
    template = await repo.get(session, service.id, template_id)
    if template is None:
        raise NoResultFound()
    return template


def preview(template: Template, personalisation: dict[str, Any] | None, service: NotifyService) -> dict[str, Any]:
    """The preview response (§7): placeholders filled; `html` for email only."""
    values = Personalisation.of(personalisation)
    names = missing([template.subject if template.template_type != "sms" else None, template.content], values)
    if names:
        raise BadRequestError(f"Missing personalisation: {', '.join(names)}")
    body: str
    subject: str | None = None
    html: str | None = None
    if template.template_type == "email":
        rendered = render_email(template.content, template.subject or "", values, service_name=service.name)
        body, subject, html = rendered.body, rendered.subject, rendered.html_body
    elif template.template_type == "sms":
        body = render_sms(template.content, values, unicode=service.sms_unicode).body
    else:
        body = fill(template.content, values).strip()
        subject = fill(template.subject or "", values, lists=ListStyle.INLINE).strip()
    return {
        "id": str(template.id),
        "type": template.template_type,
        "version": template.version,
        "body": body,
        "html": html,
        "subject": subject,
        "postage": template.postage if template.template_type == "letter" else None,
    }
