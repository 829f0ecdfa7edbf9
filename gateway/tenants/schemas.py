"""Request and response bodies of the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.tenants.secrets import redacted


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    created_at: datetime
    archived_at: datetime | None


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=255)
    restricted: bool = True


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=255)
    restricted: bool | None = None
    rate_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    pay_rate_tier: Literal["default", "elevated", "low"] | None = None
    #: Per-component settings, e.g. `{"notify": {"sms_message_limit": 1000}}`; each component validates its own.
    settings: dict[str, dict[str, Any]] | None = None


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    restricted: bool
    active: bool
    rate_limit: int
    pay_rate_tier: str
    #: Secrets (callback bearer tokens) show as `[redacted]`: they are set, never read back.
    settings: Annotated[dict[str, Any], AfterValidator(redacted)]
    created_at: datetime
    archived_at: datetime | None


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=255)
    mobile_number: str | None = Field(default=None, max_length=32)
    roles: list[str] = Field(default_factory=list)


class MemberRoles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str]


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    service_id: uuid.UUID
    email: str
    name: str
    mobile_number: str | None
    roles: list[str]
    created_at: datetime
