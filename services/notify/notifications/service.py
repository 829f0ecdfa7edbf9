"""Accepting a send (notify spec §5.1): every check in GOV.UK Notify's order, then one row, committed by the
request's session before the 201. The queue is told afterwards (see endpoints); if that fails the row is still
there and the sweeper queues it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify import limits
from services.notify.auth import Caller
from services.notify.errors import BadRequestError, InvalidPhoneError, ValidationError
from services.notify.notifications.models import Notification
from services.notify.recipients import (
    UK_POSTAGE,
    InvalidAddressError,
    SmsRecipientRefused,
    check_sms_permissions,
    is_smoke_test_email,
    is_smoke_test_number,
    parse_phone_number,
    postage_for,
    validate_email_address,
    validate_postal_address,
)
from services.notify.rendering.email import render_email
from services.notify.rendering.letters import QrCodeTooLong, check_letter_content
from services.notify.rendering.placeholders import Personalisation, fill, missing, sanitise_content_for
from services.notify.rendering.sms import render_sms
from services.notify.settings import NotifySettings
from services.notify.templates.models import Template
from services.notify.tenancy.models import AllowedRecipient, EmailReplyTo, SmsSender

CHANNEL_NAMES = {"sms": "text messages", "email": "emails", "letter": "letters"}
ADDRESS_KEYS = {f"addressline{n}" for n in range(1, 8)} | {"postcode"}


@dataclass
class Accepted:
    """What a send produced: the stored row (None for smoke-test recipients) and the 201 body."""

    notification: Notification | None
    body: dict[str, Any]
    lane: str | None


def lane_for(key_type: str, process_type: str) -> str:
    if key_type == "test":
        return "test"
    return {"priority": "priority", "bulk": "bulk"}.get(process_type, "normal")


async def _template(session: AsyncSession, caller: Caller, template_id: str, channel: str) -> Template:
    template = await session.get(Template, uuid.UUID(template_id))
    if template is None or template.service_id != caller.service.id:
        raise BadRequestError("Template not found")
    if template.template_type != channel:
        raise BadRequestError(f"{template.template_type} template is not suitable for {channel} notification")
    if template.archived:
        raise BadRequestError("Template has been deleted")
    return template


def _check_personalisation(template: Template, personalisation: Personalisation) -> None:
    texts: list[str | None] = [template.subject if template.template_type != "sms" else None, template.content]
    names = missing(texts, personalisation)
    if template.template_type == "letter":
        names = [n for n in names if n.lower().replace(" ", "").replace("_", "").replace("-", "") not in ADDRESS_KEYS]
    if names:
        raise BadRequestError(f"Missing personalisation: {', '.join(names)}")


async def _allowed(session: AsyncSession, caller: Caller, kind: str, normalised: str) -> bool:
    query = select(AllowedRecipient.id).where(
        AllowedRecipient.service_id == caller.service.id,
        AllowedRecipient.recipient_type == kind,
        AllowedRecipient.recipient == normalised,
    )
    return (await session.execute(query.limit(1))).first() is not None


async def _restrict(
    session: AsyncSession, caller: Caller, kind: str, normalised: str, settings: NotifySettings
) -> None:
    """Team keys, and every non-test key of a trial service, may only reach the team and the guest list."""
    if caller.key_type == "test":
        return
    restricted = caller.key_type == "team" or caller.service.restricted
    if restricted and not await _allowed(session, caller, kind, normalised):
        if caller.key_type == "team":
            raise BadRequestError("Can’t send to this recipient using a team-only API key")
        raise BadRequestError(
            f"Can’t send to this recipient when service is in trial mode – see {settings.trial_mode_url}"
        )


def _new_row(caller: Caller, template: Template, channel: str, data: dict[str, Any], **values: Any) -> Notification:
    now = utcnow()
    return Notification(
        id=uuid.uuid4(),
        service_id=caller.service.id,
        template_id=template.id,
        template_version=template.version,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        notification_type=channel,
        status="created",
        client_reference=data.get("reference"),
        personalisation=data.get("personalisation") or {},
        process_type=template.process_type,
        created_at=now,
        next_attempt_at=now,
        attempt=0,
        **values,
    )


def _template_ref(root: str, caller: Caller, template: Template) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "version": template.version,
        "uri": f"{root}services/{caller.service.id}/templates/{template.id}",
    }


async def send_sms(
    session: AsyncSession, redis: Redis, caller: Caller, data: dict[str, Any], settings: NotifySettings
) -> Accepted:
    service = caller.service
    counted = caller.key_type != "test"
    if counted:
        await limits.check(redis, service, "sms")
    if not service.has("sms"):
        raise BadRequestError("Service is not allowed to send text messages")
    template = await _template(session, caller, data["template_id"], "sms")
    personalisation = Personalisation.of(data.get("personalisation"))
    _check_personalisation(template, personalisation)
    rendered = render_sms(
        template.content,
        personalisation,
        prefix=service.name if service.prefix_sms else None,
        unicode=service.sms_unicode,
    )
    if rendered.is_empty:
        raise BadRequestError("Your message is empty.")
    sender = await _sms_sender(session, caller, data.get("sms_sender_id"))
    number = parse_phone_number(data["phone_number"])
    await _restrict(session, caller, "mobile", number.normalised_to, settings)
    try:
        check_sms_permissions(number, service.permissions)
    except SmsRecipientRefused as exc:
        if exc.error == "InvalidPhoneError":
            raise InvalidPhoneError(exc.message) from None
        raise BadRequestError(exc.message) from None
    if number.international and counted:
        await limits.check(redis, service, "international_sms")
    if rendered.is_too_long:
        raise BadRequestError(
            "Your message is too long. Text messages cannot be longer than 918 characters. "
            f"Your message is {rendered.character_count} characters long."
        )
    root = settings.public_root
    notification_id = uuid.uuid4()
    body = {
        "id": str(notification_id),
        "reference": data.get("reference"),
        "content": {"body": rendered.body, "from_number": sender},
        "uri": f"{root}v2/notifications/{notification_id}",
        "template": _template_ref(root, caller, template),
        "scheduled_for": None,
    }
    if is_smoke_test_number(data["phone_number"]):
        return Accepted(None, body, None)
    row = _new_row(
        caller,
        template,
        "sms",
        data,
        to=number.to,
        normalised_to=number.normalised_to,
        body=rendered.body,
        billable_units=rendered.fragment_count,
        rate_multiplier=float(number.rate_multiplier or 1),
        international=number.international,
        phone_prefix=number.phone_prefix,
        reply_to_text=sender,
    )
    row.id = notification_id
    session.add(row)
    await session.flush()
    if counted:
        await limits.increment(redis, service.id, ["sms", "international_sms"] if number.international else ["sms"])
    return Accepted(row, body, lane_for(caller.key_type, template.process_type))


async def _sms_sender(session: AsyncSession, caller: Caller, sender_id: str | None) -> str:
    query = select(SmsSender).where(SmsSender.service_id == caller.service.id)
    if sender_id:
        found = (await session.execute(query.where(SmsSender.id == uuid.UUID(sender_id)))).scalar_one_or_none()
        if found is None:
            raise BadRequestError(
                f"sms_sender_id {sender_id} does not exist in database for service id {caller.service.id}"
            )
        return found.sms_sender
    default = (await session.execute(query.where(SmsSender.is_default.is_(True)))).scalar_one_or_none()
    return default.sms_sender if default is not None else "GOVUK"


async def _reply_to(session: AsyncSession, caller: Caller, template: Template, reply_to_id: str | None) -> str | None:
    query = select(EmailReplyTo).where(EmailReplyTo.service_id == caller.service.id)
    wanted = uuid.UUID(reply_to_id) if reply_to_id else template.reply_to
    if wanted is not None:
        found = (await session.execute(query.where(EmailReplyTo.id == wanted))).scalar_one_or_none()
        if found is None and reply_to_id:
            raise BadRequestError(
                f"email_reply_to_id {reply_to_id} does not exist in database for service id {caller.service.id}"
            )
        if found is not None:
            return found.email_address
    default = (await session.execute(query.where(EmailReplyTo.is_default.is_(True)))).scalar_one_or_none()
    return default.email_address if default is not None else None


async def send_email(
    session: AsyncSession, redis: Redis, caller: Caller, data: dict[str, Any], settings: NotifySettings
) -> Accepted:
    service = caller.service
    counted = caller.key_type != "test"
    if counted:
        await limits.check(redis, service, "email")
    if not service.has("email"):
        raise BadRequestError("Service is not allowed to send emails")
    template = await _template(session, caller, data["template_id"], "email")
    raw_values, sanitised = sanitise_content_for(data.get("personalisation") or {}, data.get("sanitise_content_for"))
    personalisation = Personalisation.of(raw_values)
    _check_personalisation(template, personalisation)
    unsubscribe = data.get("one_click_unsubscribe_url")
    rendered = render_email(template.content, template.subject or "", personalisation, service_name=service.name)
    if rendered.is_empty:
        raise BadRequestError("Your message is empty.")
    reply_to = await _reply_to(session, caller, template, data.get("email_reply_to_id"))
    address = validate_email_address(data["email_address"])
    await _restrict(session, caller, "email", address.normalised_to, settings)
    if rendered.is_too_long:
        raise BadRequestError(
            "Your message is too long. Emails cannot be longer than 2000000 bytes. "
            f"Your message is {rendered.size_in_bytes} bytes."
        )
    root = settings.public_root
    notification_id = uuid.uuid4()
    body = {
        "id": str(notification_id),
        "reference": data.get("reference"),
        "content": {
            "from_email": f"{service.email_sender_local_part}@{settings.email_domain}",
            "body": rendered.body,
            "subject": rendered.subject,
            "one_click_unsubscribe_url": unsubscribe,
        },
        "uri": f"{root}v2/notifications/{notification_id}",
        "template": _template_ref(root, caller, template),
        "scheduled_for": None,
        "sanitised_content": sanitised,
    }
    if is_smoke_test_email(data["email_address"]):
        return Accepted(None, body, None)
    row = _new_row(
        caller,
        template,
        "email",
        data,
        to=address.to,
        normalised_to=address.normalised_to,
        body=rendered.body,
        subject=rendered.subject,
        reply_to_text=reply_to,
        unsubscribe_link=unsubscribe,
    )
    row.id = notification_id
    row.personalisation = raw_values
    session.add(row)
    await session.flush()
    if counted:
        await limits.increment(redis, service.id, ["email"])
    return Accepted(row, body, lane_for(caller.key_type, template.process_type))


def check_letter_key(caller: Caller) -> None:
    """Letters check the key before anything else, even the body's schema (notify spec §5.4)."""
    if caller.key_type == "team":
        raise BadRequestError("Cannot send letters with a team api key", status_code=403)
    if caller.service.restricted and caller.key_type != "test":
        raise BadRequestError("Cannot send letters when service is in trial mode", status_code=403)


async def send_letter(
    session: AsyncSession, redis: Redis, caller: Caller, data: dict[str, Any], settings: NotifySettings
) -> Accepted:
    service = caller.service
    check_letter_key(caller)
    counted = caller.key_type != "test"
    if counted:
        await limits.check(redis, service, "letter")
    if not service.has("letter"):
        raise BadRequestError("Service is not allowed to send letters")
    template = await _template(session, caller, data["template_id"], "letter")
    values = dict(data.get("personalisation") or {})
    personalisation = Personalisation.of(values)
    _check_personalisation(template, personalisation)
    try:
        address = validate_postal_address(values, allow_international_letters=service.has("international_letters"))
    except InvalidAddressError as exc:
        raise ValidationError(exc.message) from None
    try:
        check_letter_content(template.content, dict(personalisation))
    except QrCodeTooLong as exc:
        raise ValidationError(
            "qr code data is too long", data=exc.data, num_bytes=exc.num_bytes, max_bytes=exc.max_bytes
        ) from None
    requested = template.postage if template.postage in {p.value for p in UK_POSTAGE} else "second"
    postage = postage_for(address, requested).value
    letter_body = fill(template.content, personalisation).strip()
    subject = fill(template.subject or "", personalisation).strip()
    root = settings.public_root
    notification_id = uuid.uuid4()
    body = {
        "id": str(notification_id),
        "reference": data.get("reference"),
        "content": {"body": letter_body, "subject": subject},
        "uri": f"{root}v2/notifications/{notification_id}",
        "template": _template_ref(root, caller, template),
        "scheduled_for": None,
    }
    row = _new_row(
        caller,
        template,
        "letter",
        data,
        to="\n".join(address.lines),
        normalised_to=None,
        body=letter_body,
        subject=subject,
        postage=postage,
        international=address.international,
    )
    row.id = notification_id
    row.personalisation = {**values, **address.as_personalisation()}
    session.add(row)
    await session.flush()
    if counted:
        await limits.increment(redis, service.id, ["letter"])
    return Accepted(row, body, lane_for(caller.key_type, template.process_type))
