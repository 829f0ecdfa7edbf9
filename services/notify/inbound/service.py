"""Receiving text messages and reading them back (notify spec §6.4, §15). Only flushes; the caller's session
commits.

`record_inbound` is what the SMS providers' webhook (`endpoints.inbound_text`) calls once it has checked the
provider's credentials and parsed the message. Answering the provider (200 even for a number we do not know, so
it stops retrying) stays with the webhook. A message stored for the first time owes the service's `inbound_sms`
callback, if it has one, in the same transaction (`callbacks.outbox.record_inbound`), which the callbacks sweep
sends within seconds.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.callbacks import outbox as callbacks
from services.notify.inbound import repository as repo
from services.notify.inbound.models import InboundNumber, InboundSms
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
    `received_at` is the provider's timestamp (aware); None means now. A message the provider posts again (same
    `provider_reference`) is stored once: the row stored the first time is returned.
    """
    inbound_number = await repo.number(session, international_form(notify_number))
    if inbound_number is None or not inbound_number.active or inbound_number.service_id is None:
        return None
    service = await session.get(NotifyService, inbound_number.service_id)
    if service is None or not service.active or not service.has("inbound_sms"):
        return None
    values = {
        "id": uuid.uuid4(),
        "service_id": service.id,
        "notify_number": inbound_number.number,
        "user_number": international_form(user_number),
        "provider": provider,
        "provider_reference": provider_reference,
        "content": content,
        "created_at": received_at or utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(dialect.insert(InboundSms).values(**values).on_conflict_do_nothing())
    if result.rowcount == 1:  # type: ignore[attr-defined]
        text = InboundSms(**values)
        await callbacks.record_inbound(session, text)
        return text
    stored = select(InboundSms).where(
        InboundSms.provider == provider, InboundSms.provider_reference == provider_reference
    )
    return (await session.execute(stored)).scalar_one()


async def assign_inbound_number(
    session: AsyncSession, *, number: str, provider: str, service_id: uuid.UUID
) -> InboundNumber:
    """Give `service_id` the inbound number `number` (any spelling), received through `provider`; idempotent.

    The seed of `gaap up` uses it for the demo service. A number held by another service is refused
    (`ValueError`): moving a number between services is an operator's decision, not a side effect.
    """
    value = international_form(number)
    found = await repo.number(session, value)
    if found is None:
        found = InboundNumber(id=uuid.uuid4(), number=value, provider=provider, service_id=service_id, active=True)
        session.add(found)
    elif found.service_id not in (None, service_id):
        raise ValueError(f"{value} belongs to another service")
    else:
        found.service_id, found.provider, found.active = service_id, provider, True
    await session.flush()
    return found


async def received_texts(
    session: AsyncSession, service_id: uuid.UUID, older_than: uuid.UUID | None = None
) -> list[InboundSms]:
    """One page of the service's received messages, newest first, within its SMS retention (spec §16.6): older
    ones are past their purge even if the nightly job has not run yet."""
    cutoffs = await retention_cutoffs(session, service_id)
    return await repo.page(session, service_id, since=cutoffs["sms"], older_than=older_than)
