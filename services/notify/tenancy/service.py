"""Applying the gateway's service documents. Idempotent and ordered: the same document twice changes nothing, and
a document older than the one held (a retried push overtaken by a newer one) is ignored."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import Unprocessable
from services.notify.callbacks.config import SETTINGS as CALLBACK_SETTINGS
from services.notify.callbacks.config import apply_callbacks, configured
from services.notify.tenancy.models import (
    AllowedRecipient,
    DataRetention,
    EmailReplyTo,
    LetterContact,
    NotifyService,
    SmsSender,
)
from services.notify.tenancy.schemas import ServiceDocument, ServiceState

DEFAULT_PERMISSIONS = ["email", "sms", "letter", "international_sms"]
#: notify spec §11.2: (email, sms, letter, international sms) per day.
LIVE_LIMITS = (250_000, 250_000, 20_000, 100)
TRIAL_LIMITS = (50, 50, 0, 100)
DEFAULT_SMS_SENDER = "GOVUK"


class InvalidServiceDocument(Unprocessable):
    code = "InvalidServiceDocument"


def _local_part(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")
    return slug[:64] or "notify"


async def apply_document(
    session: AsyncSession, service_id: uuid.UUID, doc: ServiceDocument, *, development: bool = False
) -> tuple[NotifyService, dict[str, str]]:
    """Apply `doc`; returns the service and the callback signing secrets it generated, by callback type, to be
    shown once (`development` allows loopback http callback URLs)."""
    from services.notify.recipients import normalise_recipient

    service = await session.get(NotifyService, service_id)
    if service is not None and service.version > doc.version:
        return service, {}
    if service is None:
        service = NotifyService(id=service_id)
        session.add(service)
    settings = doc.settings
    limits = TRIAL_LIMITS if doc.restricted else LIVE_LIMITS
    service.organisation_id = doc.organisation_id
    service.name = doc.name
    service.active = doc.active
    service.restricted = doc.restricted
    service.rate_limit = doc.rate_limit
    service.permissions = sorted(set(settings.permissions if settings.permissions is not None else DEFAULT_PERMISSIONS))
    service.email_message_limit = _pick(settings.email_message_limit, limits[0])
    service.sms_message_limit = _pick(settings.sms_message_limit, limits[1])
    service.letter_message_limit = _pick(settings.letter_message_limit, limits[2])
    service.international_sms_message_limit = _pick(settings.international_sms_message_limit, limits[3])
    service.prefix_sms = settings.prefix_sms
    service.sms_unicode = settings.sms_unicode
    service.email_sender_local_part = settings.email_sender_local_part or _local_part(doc.name)
    service.contact_link = settings.contact_link
    service.version = doc.version
    service.updated_at = utcnow()
    await session.flush()

    recipients: set[tuple[str, str, str]] = set()
    for member in doc.team:
        recipients.add(("email", member.email.strip().lower(), "team"))
        if member.mobile_number:
            recipients.add(("mobile", _mobile(member.mobile_number, normalise_recipient), "team"))
    for entry in settings.guest_list:
        kind = "email" if "@" in entry else "mobile"
        value = entry.strip().lower() if kind == "email" else _mobile(entry, normalise_recipient)
        recipients.add((kind, value, "guest_list"))
    await session.execute(delete(AllowedRecipient).where(AllowedRecipient.service_id == service_id))
    session.add_all(
        AllowedRecipient(service_id=service_id, recipient_type=kind, recipient=value, source=source)
        for kind, value, source in sorted(recipients)
    )
    await _replace_defaults(session, service_id, doc)
    wanted = {kind: getattr(settings, name) for kind, name in CALLBACK_SETTINGS.items()}
    generated = await apply_callbacks(session, service_id, wanted, development=development)
    await session.flush()
    return service, generated


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def _mobile(number: str, normalise: object) -> str:
    try:
        return normalise("sms", number)  # type: ignore[operator]
    except ValueError as exc:
        raise InvalidServiceDocument(f"{number!r} is not a valid phone number: {exc}") from None


async def _replace_defaults(session: AsyncSession, service_id: uuid.UUID, doc: ServiceDocument) -> None:
    """Senders, reply-to addresses, the letter contact block and retention come whole with each document."""
    settings = doc.settings
    for model in (SmsSender, EmailReplyTo, LetterContact, DataRetention):
        await session.execute(delete(model).where(model.service_id == service_id))
    session.add(SmsSender(service_id=service_id, sms_sender=settings.sms_sender or DEFAULT_SMS_SENDER, is_default=True))
    for index, address in enumerate(settings.email_reply_to):
        session.add(EmailReplyTo(service_id=service_id, email_address=address, is_default=index == 0))
    if settings.letter_contact_block:
        session.add(LetterContact(service_id=service_id, contact_block=settings.letter_contact_block, is_default=True))
    for notification_type, days in settings.data_retention.items():
        if not 3 <= days <= 90:
            raise InvalidServiceDocument("data retention must be between 3 and 90 days")
        session.add(DataRetention(service_id=service_id, notification_type=notification_type, days_of_retention=days))


async def state(session: AsyncSession, service: NotifyService, generated: dict[str, str] | None = None) -> ServiceState:
    count = len(
        (await session.execute(select(AllowedRecipient.id).where(AllowedRecipient.service_id == service.id))).all()
    )
    return ServiceState(
        id=service.id,
        version=service.version,
        name=service.name,
        active=service.active,
        restricted=service.restricted,
        permissions=service.permissions,
        email_message_limit=service.email_message_limit,
        sms_message_limit=service.sms_message_limit,
        letter_message_limit=service.letter_message_limit,
        international_sms_message_limit=service.international_sms_message_limit,
        allowed_recipients=count,
        callbacks=await configured(session, service.id, generated or {}),
    )
