"""Accepting a send (notify spec §5.1): every check in GOV.UK Notify's order, then the row to store and the 201
body. The endpoint stores the row (see `writer`) and answers only once it is committed; the queue is told
afterwards, and if that fails the row is still there and the sweeper queues it.

The service, its senders and the template come from the per-process records cache (`services.notify.records`),
so a send reads nothing from the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.jobs import transition
from services.notify.auth import Caller
from services.notify.documents import options as file_options
from services.notify.documents.models import Document
from services.notify.documents.service import attach_files
from services.notify.errors import BadRequestError, InvalidPhoneError, NoResultFound, ValidationError
from services.notify.formats import iso
from services.notify.letters.scanning import Scanner
from services.notify.limits import counters as limits
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
from services.notify.records import Records
from services.notify.rendering.email import render_email
from services.notify.rendering.letters import QrCodeTooLong, check_letter_content
from services.notify.rendering.placeholders import ListStyle, Personalisation, fill, missing, sanitise_content_for
from services.notify.rendering.sms import render_sms
from services.notify.settings import NotifySettings
from services.notify.templates.models import Template
from services.notify.unsubscribe.links import unsubscribe_link
from services.notify.validation import parse_iso8601

CHANNEL_NAMES = {"sms": "text messages", "email": "emails", "letter": "letters"}
ADDRESS_KEYS = {f"addressline{n}" for n in range(1, 8)} | {"postcode"}


@dataclass(frozen=True)
class SendContext:
    """What the senders use: made once per process."""

    counts: limits.DailyCounts
    records: Records
    settings: NotifySettings
    #: Scans files sent by email (§12); the API process sets it at start-up.
    scanner: Scanner | None = None


@dataclass
class Accepted:
    """What a send produced: the row to store (None for smoke-test recipients) and the 201 body."""

    notification: Notification | None
    body: dict[str, Any]
    lane: str | None
    #: The job that takes the notification on from here.
    task: str = "deliver"
    #: Already added to the request's session and counted (precompiled letters); else the endpoint stores it.
    stored: bool = False
    #: Files sent by email (§12), stored in the notification's transaction.
    documents: list[Document] = field(default_factory=list)


def lane_for(key_type: str, process_type: str) -> str:
    if key_type == "test":
        return "test"
    return {"priority": "priority", "bulk": "bulk"}.get(process_type, "normal")


async def _template(records: Records, caller: Caller, template_id: str, channel: str) -> Template:
    template = await records.template(uuid.UUID(template_id))
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


def _restrict(caller: Caller, kind: str, normalised: str, settings: NotifySettings) -> None:
    """Team keys, and every non-test key of a trial service, may only reach the team and the guest list."""
    if caller.key_type == "test":
        return
    restricted = caller.key_type == "team" or caller.service.restricted
    if restricted and (kind, normalised) not in caller.record.allowed:
        if caller.key_type == "team":
            raise BadRequestError("Can’t send to this recipient using a team-only API key")
        raise BadRequestError(
            f"Can’t send to this recipient when service is in trial mode – see {settings.trial_mode_url}"
        )


def scheduled_for(caller: Caller, data: dict[str, Any]) -> datetime | None:
    """§18.2: honoured only with the `schedule_notifications` permission (already validated against the horizon);
    without it the value is validated and ignored, as GOV.UK does."""
    value = data.get("scheduled_for")
    if not value or not caller.service.has("schedule_notifications"):
        return None
    return parse_iso8601(value)


def _new_row(caller: Caller, template: Template, channel: str, data: dict[str, Any], **values: Any) -> Notification:
    now = utcnow()
    when = scheduled_for(caller, data)
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
        scheduled_for=when,
        next_attempt_at=when or now,
        attempt=0,
        **values,
    )


async def _prepare(records: Records, caller: Caller, data: dict[str, Any], channel: str) -> Template:
    """§5.1 steps 3 and 4: the service's permission for the channel, and the template. (Step 1, today's limit,
    is `check_daily_limit`; step 2, the schema, is the endpoint's.)"""
    if not caller.service.has(channel):
        raise BadRequestError(f"Service is not allowed to send {CHANNEL_NAMES[channel]}")
    return await _template(records, caller, data["template_id"], channel)


def _finish(
    caller: Caller,
    template: Template,
    data: dict[str, Any],
    settings: NotifySettings,
    *,
    content: dict[str, Any],
    smoke_test: bool = False,
    extra: dict[str, Any] | None = None,
    **row_values: Any,
) -> Accepted:
    """§5.1 steps 8–9: the 201 body, and the row to store (unless a smoke-test recipient)."""
    root = settings.public_root
    row = _new_row(caller, template, template.template_type, data, **row_values)
    body = {
        "id": str(row.id),
        "reference": data.get("reference"),
        "content": content,
        "uri": f"{root}v2/notifications/{row.id}",
        "template": _template_ref(root, caller, template),
        "scheduled_for": iso(row.scheduled_for),
        **(extra or {}),
    }
    if smoke_test:
        return Accepted(None, body, None)
    return Accepted(row, body, lane_for(caller.key_type, template.process_type))


def _template_ref(root: str, caller: Caller, template: Template) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "version": template.version,
        "uri": f"{root}services/{caller.service.id}/templates/{template.id}",
    }


def _no_files(data: dict[str, Any]) -> None:
    if file_options.has_files(data):
        raise BadRequestError("Can only send a file by email")


async def send_sms(ctx: SendContext, caller: Caller, data: dict[str, Any]) -> Accepted:
    service = caller.service
    template = await _prepare(ctx.records, caller, data, "sms")
    _no_files(data)
    personalisation = Personalisation.of(data.get("personalisation"))
    _check_personalisation(template, personalisation)
    prefix = service.name if service.prefix_sms else None
    rendered = render_sms(template.content, personalisation, prefix=prefix, unicode=service.sms_unicode)
    if rendered.is_empty:
        raise BadRequestError("Your message is empty.")
    sender = _sms_sender(caller, data.get("sms_sender_id"))
    number = parse_phone_number(data["phone_number"])
    _restrict(caller, "mobile", number.normalised_to, ctx.settings)
    try:
        check_sms_permissions(number, service.permissions)
    except SmsRecipientRefused as exc:
        if exc.error == "InvalidPhoneError":
            raise InvalidPhoneError(exc.message) from None
        raise BadRequestError(exc.message) from None
    if number.international and caller.key_type != "test":
        await ctx.counts.check(service, "international_sms")
    if rendered.is_too_long:
        raise BadRequestError(
            "Your message is too long. Text messages cannot be longer than 918 characters. "
            f"Your message is {rendered.character_count} characters long."
        )
    return _finish(
        caller,
        template,
        data,
        ctx.settings,
        content={"body": rendered.body, "from_number": sender},
        smoke_test=is_smoke_test_number(data["phone_number"]),
        to=number.to,
        normalised_to=number.normalised_to,
        body=rendered.body,
        billable_units=rendered.fragment_count,
        rate_multiplier=float(number.rate_multiplier or 1),
        international=number.international,
        phone_prefix=number.phone_prefix,
        reply_to_text=sender,
    )


def _sms_sender(caller: Caller, sender_id: str | None) -> str:
    if sender_id:
        found = caller.record.sms_sender(uuid.UUID(sender_id))
        if found is None:
            raise BadRequestError(
                f"sms_sender_id {sender_id} does not exist in database for service id {caller.service.id}"
            )
        return found
    return caller.record.default_sms_sender or "GOVUK"


def _reply_to(caller: Caller, template: Template, reply_to_id: str | None) -> str | None:
    wanted = uuid.UUID(reply_to_id) if reply_to_id else template.reply_to
    if wanted is not None:
        found = caller.record.reply_to_address(wanted)
        if found is None and reply_to_id:
            raise BadRequestError(
                f"email_reply_to_id {reply_to_id} does not exist in database for service id {caller.service.id}"
            )
        if found is not None:
            return found
    return caller.record.default_reply_to


async def send_email(ctx: SendContext, caller: Caller, data: dict[str, Any]) -> Accepted:
    service = caller.service
    file_options.check_options(data.get("personalisation"))  # the rest of the §12 schema stage
    template = await _prepare(ctx.records, caller, data, "email")
    values, sanitised = sanitise_content_for(data.get("personalisation") or {}, data.get("sanitise_content_for"))
    personalisation = Personalisation.of(file_options.stand_ins(values))  # files become links at step 7
    _check_personalisation(template, personalisation)
    unsubscribe = data.get("one_click_unsubscribe_url")
    rendered = render_email(template.content, template.subject or "", personalisation, service_name=service.name)
    if rendered.is_empty:
        raise BadRequestError("Your message is empty.")
    reply_to = _reply_to(caller, template, data.get("email_reply_to_id"))
    address = validate_email_address(data["email_address"])
    _restrict(caller, "email", address.normalised_to, ctx.settings)
    smoke_test = is_smoke_test_email(data["email_address"])
    files = await attach_files(
        values,
        service=service,
        recipient=address.normalised_to,
        settings=ctx.settings,
        scanner=ctx.scanner,
        simulated=smoke_test,
    )
    if files.personalisation is not values:  # each file's placeholder is now its link: render again
        values = files.personalisation
        personalisation = Personalisation.of(values)
        rendered = render_email(template.content, template.subject or "", personalisation, service_name=service.name)
    if rendered.is_too_long:
        raise BadRequestError(
            "Your message is too long. Emails cannot be longer than 2000000 bytes. "
            f"Your message is {rendered.size_in_bytes} bytes."
        )
    content = {
        "from_email": f"{service.email_sender_local_part}@{ctx.settings.email_domain}",
        "body": rendered.body,
        "subject": rendered.subject,
        "one_click_unsubscribe_url": unsubscribe,
    }
    accepted = _finish(
        caller,
        template,
        {**data, "personalisation": values},
        ctx.settings,
        content=content,
        extra={"sanitised_content": sanitised},
        smoke_test=smoke_test,
        to=address.to,
        normalised_to=address.normalised_to,
        body=rendered.body,
        subject=rendered.subject,
        reply_to_text=reply_to,
        unsubscribe_link=unsubscribe,
    )
    accepted.documents = files.documents
    row = accepted.notification
    if row is not None and unsubscribe is None and template.has_unsubscribe_link:
        # §13.3: notify's own one-click link, sent in the headers and at the foot of the email.
        keyring = ctx.settings.encryption_keys.get_secret_value()
        row.unsubscribe_link = unsubscribe_link(ctx.settings.public_root, keyring, row.id, address.to)
        content["one_click_unsubscribe_url"] = row.unsubscribe_link
    return accepted


async def check_daily_limit(counts: limits.DailyCounts, caller: Caller, channel: str) -> None:
    """§5.1 step 1, before the body is validated: a service at today's limit gets the 429 whatever it sent.
    Test keys are never counted."""
    if caller.key_type != "test":
        await counts.check(caller.service, channel)


def check_letter_key(caller: Caller) -> None:
    """Letters check the key before anything else, even the body's schema (notify spec §5.4)."""
    if caller.key_type == "team":
        raise BadRequestError("Cannot send letters with a team api key", status_code=403)
    if caller.service.restricted and caller.key_type != "test":
        raise BadRequestError("Cannot send letters when service is in trial mode", status_code=403)


async def send_letter(ctx: SendContext, caller: Caller, data: dict[str, Any]) -> Accepted:
    service = caller.service
    check_letter_key(caller)
    template = await _prepare(ctx.records, caller, data, "letter")
    _no_files(data)
    values = dict(data.get("personalisation") or {})
    personalisation = Personalisation.of(values)
    _check_personalisation(template, personalisation)
    try:
        address = validate_postal_address(values, allow_international_letters=service.has("international_letters"))
    except InvalidAddressError as exc:
        raise ValidationError(exc.message) from None
    if any("\x00" in line for line in address.lines):  # PostgreSQL text cannot hold NUL
        raise ValidationError("Address lines must not contain NUL characters")
    try:
        check_letter_content(template.content, dict(personalisation))
    except QrCodeTooLong as exc:
        raise ValidationError(
            "Cannot create a usable QR code - the link is too long",
            data=exc.data,
            num_bytes=exc.num_bytes,
            max_bytes=exc.max_bytes,
        ) from None
    requested = template.postage if template.postage in {p.value for p in UK_POSTAGE} else "second"
    postage = postage_for(address, requested).value
    letter_body = fill(template.content, personalisation).strip()
    subject = fill(template.subject or "", personalisation, lists=ListStyle.INLINE).strip()
    stored = {**data, "personalisation": {**values, **address.as_personalisation()}}
    return _finish(
        caller,
        template,
        stored,
        ctx.settings,
        content={"body": letter_body, "subject": subject},
        to="\n".join(address.lines),
        normalised_to=None,
        body=letter_body,
        subject=subject,
        postage=postage,
        international=address.international,
    )


async def cancel(session: AsyncSession, caller: Caller, notification_id: uuid.UUID) -> Notification:
    """§18.2: a scheduled notification can be cancelled until it is handed to a provider."""
    row = await session.get(Notification, notification_id)
    if row is None or row.service_id != caller.service.id:
        raise NoResultFound()
    now = utcnow()
    moved = row.scheduled_for is not None and await transition(
        session, Notification, row.id, from_status="created", to_status="cancelled", updated_at=now
    )
    if not moved:
        raise BadRequestError(
            "Notification cannot be cancelled - only scheduled notifications that have not been "
            "sent yet can be cancelled"
        )
    await session.refresh(row)
    return row
