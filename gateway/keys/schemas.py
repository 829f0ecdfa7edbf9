"""Request and response bodies for keys in the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api: Literal["notify", "pay"]
    name: str = Field(min_length=1, max_length=255)
    key_type: Literal["normal", "team", "test", "live"]
    scopes: list[str] = Field(default_factory=list)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    service_id: uuid.UUID
    api: str
    name: str
    key_type: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expiry_date: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyOut):
    #: The full key. Shown once, here; it cannot be retrieved again.
    key: str
