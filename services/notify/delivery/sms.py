"""The SMS channel (notify spec §9.5, §13.2, §16.1–16.4): a claimed text goes to one of the SMS providers.

For each hand-over:

1. **Render** what the provider is sent from what the row stores: the filled, sanitised body the 201 showed,
   with the `<Service name>: ` prefix when the service has `prefix_sms`, and its fragments counted again
   (`render_sms` leaves an already-filled body as it is); the sender is the row's `reply_to_text`.
2. **Choose a provider** (`failover`): the one the row is pinned to, else a weighted random choice among the
   configured providers (the international-capable ones for an international number).
3. **Pin it**: the row's `sent_by` is set to that provider before the call, fenced by the claim's attempt. A
   call that times out or breaks may have left the text with the provider, and only that provider can drop a
   second copy (it de-duplicates on the notification id), so every retry goes back to the pinned provider, and
   a worker that crashed mid-call leaves its choice behind for the next claim. A refusal the provider answered
   with (`ProviderError.unsent`) releases the pin: `deliver` clears `sent_by` with the retry, and the next
   attempt chooses afresh.
4. **Call** the provider's API (`sms_api`); an error that a retry may cure counts against the provider in the
   failover window. International texts end `sent` (no receipt follows, §16.1); the others `sending`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update

from gaap.db.engine import Database
from gaap.logging import get_logger
from services.notify.delivery.failover import ProviderWeights, choose
from services.notify.delivery.providers import Ctx, HandedOver, ProviderError, clock
from services.notify.delivery.sms_api import SmsApi
from services.notify.notifications.models import Notification
from services.notify.records import Records
from services.notify.rendering.sms import render_sms

#: The ctx key of the worker's `SmsChannel`.
SMS = "sms_channel"

log = get_logger("notify.delivery.sms")


class SmsChannel:
    """SMS delivery for one worker process: the providers' APIs, their shared weights, the records it reads."""

    def __init__(
        self,
        db: Database,
        records: Records,
        apis: Mapping[str, SmsApi],
        weights: ProviderWeights,
        *,
        international: frozenset[str],
    ) -> None:
        self.db = db
        self.records = records
        self.apis = dict(apis)
        self.weights = weights
        self.international = international

    async def provider_for(self, notification: Notification) -> SmsApi:
        """The pinned provider if it can still take the text, else a weighted choice among those that can."""
        candidates = self.international if notification.international else frozenset(self.apis)
        if not candidates:
            raise ProviderError("no SMS provider can send to international numbers", retryable=False)
        if notification.sent_by in candidates:
            return self.apis[notification.sent_by]
        return self.apis[choose(await self.weights.current(), candidates)]

    async def pin(self, notification: Notification, provider: str) -> None:
        if notification.sent_by == provider:
            return
        async with self.db.write_session() as session:
            result: Any = await session.execute(
                update(Notification)
                .where(
                    Notification.id == notification.id,
                    Notification.status == "created",
                    Notification.attempt == notification.attempt,
                )
                .values(sent_by=provider)
            )
        if result.rowcount != 1:
            raise ProviderError("the claim was lost before the hand-over")  # `deliver`'s fenced writes do nothing

    async def send(self, notification: Notification, now: datetime) -> HandedOver:
        record = await self.records.service(notification.service_id)
        if record is None:
            raise ProviderError("the notification's service is unknown to notify", retryable=False)
        service = record.service
        message = render_sms(
            notification.body, prefix=service.name if service.prefix_sms else None, unicode=service.sms_unicode
        )
        api = await self.provider_for(notification)
        await self.pin(notification, api.name)
        try:
            accepted = await api.send(
                reference=str(notification.id),
                to=f"+{notification.normalised_to}" if notification.normalised_to else notification.to,
                content=message.message,
                sender=notification.reply_to_text,
            )
        except ProviderError as exc:
            if exc.retryable:
                await self.weights.record_error(api.name, now)
            raise
        if accepted.duplicate:  # an earlier call's answer was lost; the provider already has the text
            log.info("notify.sms.already_accepted", id=str(notification.id), provider=api.name)
        return HandedOver(
            sent_by=api.name,
            status="sent" if notification.international else "sending",
            reference=accepted.id,
            billable_units=message.fragment_count,
        )

    async def close(self) -> None:
        """At worker shutdown: the HTTP pool the adapters share, and the weights' Redis connection."""
        for client in {id(api.client): api.client for api in self.apis.values()}.values():
            await client.aclose()
        await self.weights.redis.aclose()


async def deliver_sms(ctx: Ctx, notification: Notification) -> HandedOver:
    """The SMS channel's `Sender` (registered in `tasks.PROVIDERS`)."""
    channel: SmsChannel = ctx[SMS]
    return await channel.send(notification, clock(ctx))
