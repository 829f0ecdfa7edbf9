"""The template object (notify spec §7), shared by the template endpoints and the versions route."""

from __future__ import annotations

from typing import Any

from services.notify.formats import iso
from services.notify.rendering.placeholders import template_personalisation
from services.notify.templates.models import Template, TemplateHistory


def template_json(template: Template | TemplateHistory, *, letter_contact_block: str | None = None) -> dict[str, Any]:
    subject = template.subject if template.template_type != "sms" else None
    return {
        "id": str(template.id),
        "type": template.template_type,
        "name": template.name,
        "version": template.version,
        "created_at": iso(template.created_at),
        "updated_at": iso(template.updated_at),
        "created_by": template.created_by,
        "body": template.content,
        "subject": subject,
        "personalisation": template_personalisation(template.content, subject),
        "postage": template.postage if template.template_type == "letter" else None,
        "letter_contact_block": letter_contact_block if template.template_type == "letter" else None,
    }
