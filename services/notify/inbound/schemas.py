"""The received text message object and the list page (notify spec §6.4), built from the stored rows; and the
inbound text an SMS provider posts to its webhook (§15), with notify's answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class InboundText(BaseModel):
    """A text someone sent to one of our numbers, as the SMS providers post it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str | None = Field(default=None, max_length=255, description="The provider's id for the message")
    to: str = Field(min_length=1, max_length=32, description="Our number it was sent to")
    sender: str = Field(alias="from", min_length=1, max_length=255, description="Who sent it")
    content: str = Field(max_length=10_000)
    received_at: datetime | None = Field(default=None, description="When the provider received it (naive: UTC)")

    @field_validator("received_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class InboundAnswer(BaseModel):
    #: `stored`: kept for the number's service (also when the provider posts the same message again);
    #: `ignored`: not one of our numbers, a spare one, or a service that may not receive texts.
    result: Literal["stored", "ignored"]
    id: uuid.UUID | None
