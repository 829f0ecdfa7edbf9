"""The received text message object and the list page (notify spec §6.4), built from the stored rows."""

from __future__ import annotations

from typing import Any

from services.notify.formats import iso
from services.notify.inbound.models import InboundSms


def received_text_json(message: InboundSms) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "user_number": message.user_number,
        "notify_number": message.notify_number,
        "created_at": iso(message.created_at),
        "service_id": str(message.service_id),
        "content": message.content,
    }


def received_texts_page(messages: list[InboundSms], root: str) -> dict[str, Any]:
    """`current` is the bare endpoint URL even on later pages, as GOV.UK builds it; `next` is on every non-empty
    page, because the official client's iterator stops only on an empty one."""
    base = f"{root}v2/received-text-messages"
    links = {"current": base}
    if messages:
        links["next"] = f"{base}?older_than={messages[-1].id}"
    return {"received_text_messages": [received_text_json(m) for m in messages], "links": links}
