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
from email.charset import QP, Charset
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr
from functools import lru_cache

from gaap.db.base import utcnow
from services.notify.delivery.providers import Ctx, HandedOver, ProviderError
from services.notify.delivery.smtp import SmtpRelay
from services.notify.notifications.models import Notification
from services.notify.records import Records
from services.notify.rendering.email import render_filled_email
from services.notify.tenancy.models import NotifyService

#: The ctx key of the worker's `EmailProvider`.
EMAIL = "email_provider"
_UTF8 = "utf-8"
_UTF8_QP = Charset(_UTF8)
_UTF8_QP.body_encoding = QP


def message_id_for(notification_id: uuid.UUID | str, domain: str) -> str:
    """The `Message-ID` (without its angle brackets) of a notification's email: also its provider reference."""
    return f"{notification_id}@{domain}"


def sender_address(service: NotifyService, domain: str) -> Address:
    """§13.1: `"<service name>" <local_part@NOTIFY_EMAIL_DOMAIN>`, the address the 201's `from_email` shows."""
    return _address(service.name, service.email_sender_local_part, domain)


@lru_cache(maxsize=1024)
def _address(name: str, local_part: str, domain: str) -> Address:
    return Address(display_name=name, addr_spec=f"{local_part}@{domain}")  # parsed: worth keeping per service


def email_message(notification: Notification, service: NotifyService, domain: str, now: datetime) -> Message:
    """The message for one email notification: plain text and HTML alternatives, and the headers §13 asks for.

    Built on the `compat32` classes, which store header values as given (encoded words where a value is not
    ASCII): `EmailMessage` parses every header into objects as it is set, which cost the worker about a millisecond
    an email, more than the SMTP transaction. So the values are checked here instead: a line break in one raises
    `ValueError`, since it would start a header of its own.
    """
    parts = render_filled_email(
        notification.body,
        notification.subject or "",
        service_name=service.name,
        unsubscribe_url=notification.unsubscribe_link,
    )
    message = MIMEMultipart("alternative", None, [_text(parts.plain_text, "plain"), _text(parts.html, "html")])
    sender = sender_address(service, domain)
    message["From"] = formataddr((_checked(sender.display_name), sender.addr_spec), charset=_UTF8)
    _set(message, "To", ascii_address(notification.to))
    _set(message, "Subject", notification.subject or "")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{message_id_for(notification.id, domain)}>"
    if notification.reply_to_text:
        _set(message, "Reply-To", notification.reply_to_text)
    if notification.unsubscribe_link:  # RFC 8058 one-click unsubscribe (§13.3)
        _set(message, "List-Unsubscribe", f"<{notification.unsubscribe_link}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _checked(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a header value may not contain a line break: {value[:80]!r}")
    return value


#: RFC 5322's limit on a line, the header's name included.
MAX_LINE = 998


class _Whole:
    """A header value compat32 writes on one line. Given a long value without whitespace (a URL), compat32 folds
    it before its first character, so a reader sees it with a leading space; one that fits the line limit is
    better written whole."""

    def __init__(self, value: str) -> None:
        self.value = value

    def encode(self, linesep: str = "\n", maxlinelen: int | None = None) -> str:
        return self.value

    def __str__(self) -> str:
        return self.value


def _set(message: Message, name: str, value: str) -> None:
    """Set a header as compat32 writes it: ASCII as is (folded at its spaces, or whole if it has none), anything
    else as UTF-8 encoded words; never a line break."""
    _checked(value)
    if not value.isascii():
        message[name] = Header(value, _UTF8)  # type: ignore[assignment]
    elif not any(c.isspace() for c in value) and len(name) + 2 + len(value) <= MAX_LINE:
        message[name] = _Whole(value)  # type: ignore[assignment]
    else:
        message[name] = value


def _text(content: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part, quoted-printable (readable in the raw message, safe for any relay)."""
    part = MIMENonMultipart("text", subtype, charset=_UTF8)
    del part["MIME-Version"]  # said once, on the message itself
    part.set_payload(content, _UTF8_QP)
    return part


def ascii_address(address: str) -> str:
    """The recipient as an SMTP relay without SMTPUTF8 takes it: an internationalised domain in its IDNA form (the
    API accepts only ASCII local parts)."""
    local, at, host = address.rpartition("@")
    return address if host.isascii() else f"{local}{at}{host.encode('idna').decode('ascii')}"


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
        await self.relay.send(message, sender=sender, recipient=ascii_address(notification.to))
        return HandedOver(sent_by=self.name, reference=message_id_for(notification.id, self.domain))

    async def close(self) -> None:
        await self.relay.close()


async def deliver_email(ctx: Ctx, notification: Notification) -> HandedOver:
    """The email channel's `Sender` (registered in `tasks.PROVIDERS`)."""
    provider: EmailProvider = ctx[EMAIL]
    return await provider.send(notification)
