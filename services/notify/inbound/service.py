"""Receiving text messages and reading them back (notify spec §6.4, §15). Only flushes; the caller's session
commits.

`record_inbound` is what a provider adapter calls once it has checked the provider's credentials and parsed its
webhook. Answering the provider (200 even for a number we do not know, so it stops retrying) and queueing the
service's `inbound_sms` callback stay with the adapter.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.inbound import repository as repo
from services.notify.inbound.models import InboundSms
from services.notify.notifications.repository import retention_cutoffs
from services.notify.recipients import InvalidPhoneError, parse_phone_number
from services.notify.tenancy.models import NotifyService


def international_form(value: str) -> str:
    """E.164 without the `+` (`07700 900123` and `+447700900123` both give `447700900123`).

    A sender that is not a phone number we can parse (an alphanumeric sender id, a short code) is kept as the
    provider gave it, stripped: GOV.UK keeps it too, and refusing it would lose the message.
    """
    try:
        return parse_phone_number(value).normalised_to
    except InvalidPhoneError:
        return value.strip()


async def record_inbound(
    session: AsyncSession,
    *,
    notify_number: str,
    user_number: str,
    content: str,
    provider: str,
    provider_reference: str | None,
    received_at: datetime | None,
) -> InboundSms | None:
    """Store a message sent to one of our numbers, for the service that holds it.

    None (and nothing stored) when the number is not ours, is spare or inactive, or its service may not receive
    text messages (permission `inbound_sms`) or is archived: GOV.UK drops those too, after answering the provider.
    `received_at` is the provider's timestamp (aware); None means now.
    """
    inbound_number = await repo.number(session, international_form(notify_number))
    if inbound_number is None or not inbound_number.active or inbound_number.service_id is None:
        return None
    service = await session.get(NotifyService, inbound_number.service_id)
    if service is None or not service.active or not service.has("inbound_sms"):
        return None
    message = InboundSms(
        id=uuid.uuid4(),
        service_id=service.id,
        notify_number=inbound_number.number,
        user_number=international_form(user_number),
        provider=provider,
        provider_reference=provider_reference,
        content=content,
        created_at=received_at or utcnow(),
    )
    session.add(message)
    await session.flush()
    return message


async def received_texts(
    session: AsyncSession, service_id: uuid.UUID, older_than: uuid.UUID | None = None
) -> list[InboundSms]:
    """One page of the service's received messages, newest first, within its SMS retention (spec §16.6): older
    ones are past their purge even if the nightly job has not run yet."""
    cutoffs = await retention_cutoffs(session, service_id)
    return await repo.page(session, service_id, since=cutoffs["sms"], older_than=older_than)
