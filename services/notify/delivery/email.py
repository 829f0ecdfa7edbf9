"""The email channel (notify spec §9.3, §13.1, §13.3, §16.2): a notification row becomes a MIME message and goes to
the SMTP relay.

The message is built from what the row stores, the filled Markdown body and the subject the API answered with, so
what is sent is what the 201 and every GET show. It carries `Message-ID: <notification_id@NOTIFY_EMAIL_DOMAIN>`,
the provider reference that lets a relay (and the development sink) drop a second copy, and that its receipts
name it by (`services.notify.receipts`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from gaap.db.base import utcnow
from services.notify.delivery.providers import Ctx, HandedOver, ProviderError
from services.notify.delivery.smtp import SmtpRelay
from services.notify.notifications.models import Notification
from services.notify.records import Records
from services.notify.rendering.email import render_filled_email
from services.notify.tenancy.models import NotifyService

#: The ctx key of the worker's `EmailProvider`.
EMAIL = "email_provider"


def message_id_for(notification_id: uuid.UUID | str, domain: str) -> str:
    """The `Message-ID` (without its angle brackets) of a notification's email: also its provider reference."""
    return f"{notification_id}@{domain}"


def sender_address(service: NotifyService, domain: str) -> Address:
    """§13.1: `"<service name>" <local_part@NOTIFY_EMAIL_DOMAIN>`, the address the 201's `from_email` shows."""
    return Address(display_name=service.name, addr_spec=f"{service.email_sender_local_part}@{domain}")


def email_message(notification: Notification, service: NotifyService, domain: str, now: datetime) -> EmailMessage:
    """The message for one email notification: plain text and HTML alternatives, and the headers §13 asks for.

    Raises `ValueError` (or `HeaderParseError`) for a header that cannot be written, e.g. a line break in a value.
    """
    parts = render_filled_email(
        notification.body,
        notification.subject or "",
        service_name=service.name,
        unsubscribe_url=notification.unsubscribe_link,
    )
    message = EmailMessage()
    message["From"] = sender_address(service, domain)
    message["To"] = notification.to
    message["Subject"] = notification.subject or ""
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{message_id_for(notification.id, domain)}>"
    if notification.reply_to_text:
        message["Reply-To"] = notification.reply_to_text
    if notification.unsubscribe_link:  # RFC 8058 one-click unsubscribe (§13.3)
        message["List-Unsubscribe"] = f"<{notification.unsubscribe_link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(parts.plain_text)
    message.add_alternative(parts.html, subtype="html")
    return message


class EmailProvider:
    """Email delivery for one worker process: its relay session, the service records it reads, and its name."""

    def __init__(self, relay: SmtpRelay, records: Records, *, domain: str, name: str) -> None:
        self.relay = relay
        self.records = records
        self.domain = domain
        self.name = name

    async def send(self, notification: Notification) -> HandedOver:
        record = await self.records.service(notification.service_id)
        if record is None:
            raise ProviderError("the notification's service is unknown to notify", retryable=False)
        try:
            message = email_message(notification, record.service, self.domain, utcnow())
        except (ValueError, HeaderParseError) as exc:
            raise ProviderError(f"the email cannot be written: {exc}", retryable=False) from exc
        sender = sender_address(record.service, self.domain).addr_spec
        await self.relay.send(message, sender=sender, recipient=notification.to)
        return HandedOver(sent_by=self.name, reference=message_id_for(notification.id, self.domain))

    async def close(self) -> None:
        await self.relay.close()


async def deliver_email(ctx: Ctx, notification: Notification) -> HandedOver:
    """The email channel's `Sender` (registered in `tasks.PROVIDERS`)."""
    provider: EmailProvider = ctx[EMAIL]
    return await provider.send(notification)
