"""Who is calling notify: the service the gateway authenticated, from the per-process records cache."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gaap.principal import Principal, ServicePrincipal
from services.notify.errors import AuthError, BadRequestError
from services.notify.records import Records, ServiceRecord
from services.notify.tenancy.models import NotifyService


@dataclass(frozen=True)
class Caller:
    principal: Principal
    record: ServiceRecord

    @property
    def service(self) -> NotifyService:
        """A snapshot shared with other requests: read it, never change it."""
        return self.record.service

    @property
    def key_type(self) -> str:
        return self.principal.key_type or "normal"

    @property
    def key_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.principal.key_id) if self.principal.key_id else None


class ServiceNotProvisioned(BadRequestError):
    status_code = 503
    code = "ServiceUnavailable"
    message = "This service's settings have not reached Notify yet, try again in a few seconds"


async def _caller(principal: ServicePrincipal, request: Request) -> Caller:
    records: Records = request.app.state.records
    record = await records.service(uuid.UUID(str(principal.service_id)))
    if record is None:
        raise ServiceNotProvisioned()
    if not record.service.active:
        raise AuthError("Invalid token: service is archived", status_code=403)
    return Caller(principal, record)


#: A caller with a Notify key of an active service that notify knows.
NotifyCaller = Annotated[Caller, Depends(_caller)]
