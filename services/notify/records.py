"""The records every send reads, cached per process (`gaap.cache.LocalCache`): the service with its senders, and
templates.

GOV.UK Notify keeps these in memory for a few seconds too; here a change is also announced on a Redis channel, so
every notify process drops its copy at once (within `ttl` seconds if Redis is down). What is cached are snapshots:
ORM objects expunged from the session that loaded them, which nothing modifies. Code that changes a service or a
template loads its own copy in its own session, and calls `changed_*` once that is committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gaap.cache import LocalCache, announce
from gaap.db.engine import Database
from services.notify.templates.models import Template
from services.notify.tenancy.models import AllowedRecipient, EmailReplyTo, NotifyService, SmsSender

CHANNEL = "gaap:notify:records"


@dataclass(frozen=True, slots=True)
class Sender:
    """A reply-to address or a text message sender of a service."""

    id: uuid.UUID
    value: str
    is_default: bool


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    service: NotifyService
    reply_to: tuple[Sender, ...]
    sms_senders: tuple[Sender, ...]
    #: Who team keys and a trial service may send to: (`email` or `mobile`, normalised recipient).
    allowed: frozenset[tuple[str, str]]

    def reply_to_address(self, wanted: uuid.UUID) -> str | None:
        return next((s.value for s in self.reply_to if s.id == wanted), None)

    def sms_sender(self, wanted: uuid.UUID) -> str | None:
        return next((s.value for s in self.sms_senders if s.id == wanted), None)

    @property
    def default_reply_to(self) -> str | None:
        return next((s.value for s in self.reply_to if s.is_default), None)

    @property
    def default_sms_sender(self) -> str | None:
        return next((s.value for s in self.sms_senders if s.is_default), None)


def _parse(message: bytes) -> tuple[str, uuid.UUID] | None:
    kind, _, ident = message.decode(errors="replace").partition(":")
    try:
        return kind, uuid.UUID(ident)
    except ValueError:
        return None  # not ours to understand: drop everything rather than keep something stale


class Records:
    def __init__(self, db: Database, redis: Any, *, ttl: float = 5.0) -> None:
        self.db = db
        self.redis = redis
        self.cache = LocalCache(ttl=ttl)

    async def service(self, service_id: uuid.UUID) -> ServiceRecord | None:
        return await self.cache.get(("service", service_id), lambda: self._load_service(service_id))

    async def template(self, template_id: uuid.UUID) -> Template | None:
        return await self.cache.get(("template", template_id), lambda: self._load_template(template_id))

    async def _load_service(self, service_id: uuid.UUID) -> ServiceRecord | None:
        async with self.db.read_session() as session:
            service = await session.get(NotifyService, service_id)
            if service is None:
                return None
            reply_to = await session.scalars(select(EmailReplyTo).where(EmailReplyTo.service_id == service_id))
            senders = await session.scalars(select(SmsSender).where(SmsSender.service_id == service_id))
            allowed = await session.execute(
                select(AllowedRecipient.recipient_type, AllowedRecipient.recipient).where(
                    AllowedRecipient.service_id == service_id
                )
            )
            record = ServiceRecord(
                service=service,
                reply_to=tuple(Sender(r.id, r.email_address, r.is_default) for r in reply_to),
                sms_senders=tuple(Sender(s.id, s.sms_sender, s.is_default) for s in senders),
                allowed=frozenset((kind, recipient) for kind, recipient in allowed),
            )
            session.expunge(service)  # before the read session's rollback would expire it
            return record

    async def _load_template(self, template_id: uuid.UUID) -> Template | None:
        async with self.db.read_session() as session:
            template = await session.get(Template, template_id)
            if template is not None:
                session.expunge(template)
            return template

    async def changed_service(self, service_id: uuid.UUID) -> None:
        """After a committed change to a service or its senders: drop it here and everywhere."""
        await self._changed("service", service_id)

    async def changed_template(self, template_id: uuid.UUID) -> None:
        await self._changed("template", template_id)

    async def _changed(self, kind: str, ident: uuid.UUID) -> None:
        self.cache.forget((kind, ident))
        await announce(self.redis, CHANNEL, f"{kind}:{ident}".encode())

    async def follow(self) -> None:
        """Follow other processes' announcements until cancelled."""
        await self.cache.follow(self.redis, CHANNEL, _parse)
