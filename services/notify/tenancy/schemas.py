"""The service document the gateway pushes (`PUT /internal/services/{id}`), validated here: notify owns its copy
and refuses settings it cannot honour, and the console shows the refusal."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notify.callbacks.config import CallbackSetting, CallbackState
from services.notify.tenancy.models import PERMISSIONS

Permission = Literal[
    "email",
    "sms",
    "letter",
    "international_sms",
    "sms_to_uk_landlines",
    "inbound_sms",
    "international_letters",
    "schedule_notifications",
]
assert set(Permission.__args__) == set(PERMISSIONS)  # type: ignore[attr-defined]


class TeamMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    mobile_number: str | None = Field(default=None, max_length=32)


class NotifySettings(BaseModel):
    """A service's notify settings. Limits left out take the defaults for trial or live mode (notify spec §11.2)."""

    model_config = ConfigDict(extra="forbid")
    permissions: list[Permission] | None = None
    email_message_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    sms_message_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    letter_message_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    international_sms_message_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    prefix_sms: bool = False
    sms_unicode: bool = False
    sms_sender: str | None = Field(default=None, min_length=3, max_length=11, pattern=r"^[A-Za-z0-9 .&'-]+$")
    email_reply_to: list[str] = Field(default_factory=list, max_length=20)
    email_sender_local_part: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    letter_contact_block: str | None = Field(default=None, max_length=1000)
    contact_link: str | None = Field(default=None, max_length=255)
    guest_list: list[str] = Field(default_factory=list, max_length=5000)
    data_retention: dict[Literal["email", "sms", "letter"], int] = Field(default_factory=dict)
    #: notify spec §14: where to POST delivery statuses, received texts and returned letters; absent means none.
    delivery_status_callback: CallbackSetting | None = None
    inbound_sms_callback: CallbackSetting | None = None
    returned_letter_callback: CallbackSetting | None = None


class ServiceDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=255)
    organisation_id: uuid.UUID | None = None
    active: bool
    restricted: bool
    rate_limit: int = Field(ge=1, le=1_000_000)
    team: list[TeamMember] = Field(default_factory=list)
    settings: NotifySettings = Field(default_factory=NotifySettings)


class ServiceState(BaseModel):
    """What notify holds after applying a document."""

    id: uuid.UUID
    version: int
    name: str
    active: bool
    restricted: bool
    permissions: list[str]
    email_message_limit: int
    sms_message_limit: int
    letter_message_limit: int
    international_sms_message_limit: int
    allowed_recipients: int
    #: The configured callbacks by type; a signing secret appears only in the answer to the push that made it.
    callbacks: dict[str, CallbackState] = Field(default_factory=dict)
