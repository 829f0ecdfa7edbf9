"""What the delivery doubles received, narrowed to the calling service.

In development the delivery worker hands emails to the SMTP sink and texts to the fake SMS provider (ARCHITECTURE,
"Running"), which keep what they accepted on disk; `gaap.embedded.inbox` is the one reader of their formats. The
doubles are shared by every service on the machine (the platform's own services send sign-in codes through them
too), and nothing in a stored message names its service except the id the worker gave it: an email's `Message-ID` is
`<notification_id@NOTIFY_EMAIL_DOMAIN>` and a text's provider reference is the notification id (notify spec §16).
So notify's own `notifications` table decides what a caller may see, one query per batch of candidates.

The inbox exists only in development mode and only for a configured path: production answers 404 even if a path was
set by mistake, so a stray variable cannot expose a directory of mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from gaap.embedded import inbox
from gaap.embedded.inbox import EmailSummary, TextMessage, normalise_message_id
from gaap.errors import NotFound
from services.notify.notifications.models import Notification
from services.notify.settings import NotifySettings

log = structlog.get_logger("notify.inbox")

T = TypeVar("T")

#: The smallest batch read from a double; batches grow fourfold while other services' messages fill them.
_FIRST_BATCH = 50
#: Ids per ownership query: below SQLite's oldest bound-parameter limit (999), so no page ever fails on SQLite.
_IDS_PER_QUERY = 900


class NoDeveloperInbox(NotFound):
    code = "NoDeveloperInbox"
    message = (
        "There is no developer inbox here: it exists only in development mode, where notify's email and text "
        "message doubles are configured (NOTIFY_DEV_MAILDIR, NOTIFY_DEV_SMS_STORE)"
    )


class EmailNotInInbox(NotFound):
    message = "No email for this notification of your service is in the developer inbox"


def _configured(settings: NotifySettings, path: str, variable: str) -> Path:
    if not path:
        raise NoDeveloperInbox()
    if not settings.platform.is_development:
        log.warning("notify.inbox.refused", reason="not development mode", setting=variable)
        raise NoDeveloperInbox()
    return Path(path)


def maildir(settings: NotifySettings) -> Path:
    """The SMTP sink's Maildir, or `NoDeveloperInbox` when there is no email inbox to show."""
    return _configured(settings, settings.dev_maildir, "NOTIFY_DEV_MAILDIR")


def sms_store(settings: NotifySettings) -> Path:
    """The fake SMS provider's store, or `NoDeveloperInbox` when there is no text inbox to show."""
    return _configured(settings, settings.dev_sms_store, "NOTIFY_DEV_SMS_STORE")


def notification_id_of(message_id: str | None, email_domain: str) -> uuid.UUID | None:
    """The notification id inside `<id@email_domain>`; None for a message notify did not send."""
    normal = normalise_message_id(message_id)
    local, at, host = (normal or "").rpartition("@")
    if not at or host.lower() != email_domain.lower():
        return None
    return _uuid(local)


def requested_notification_id(value: str, email_domain: str) -> uuid.UUID | None:
    """A path's email: its notification id, or its whole `Message-ID` (angle brackets optional)."""
    return _uuid(value) or notification_id_of(value, email_domain)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def owned_ids(
    session: AsyncSession, service_id: uuid.UUID, notification_type: str, ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `ids` are this service's notifications of this type."""
    wanted = list(ids)
    found: set[uuid.UUID] = set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        query = select(Notification.id).where(
            Notification.service_id == service_id,
            Notification.notification_type == notification_type,
            Notification.id.in_(wanted[start : start + _IDS_PER_QUERY]),
        )
        found.update((await session.execute(query)).scalars())
    return found


async def _owned_page(
    session: AsyncSession,
    service_id: uuid.UUID,
    notification_type: str,
    read_newest: Callable[[int], Sequence[T]],
    notification_id: Callable[[T], uuid.UUID | None],
    *,
    limit: int,
    older_than: uuid.UUID | None,
) -> list[tuple[uuid.UUID, T]]:
    """Up to `limit` of this service's messages, newest first, after the one whose id is `older_than`.

    The doubles can only be read newest first up to a count, and other services' messages are interleaved with
    ours, so this reads a batch, asks the database which of its ids are ours (only ids not asked about before), and
    reads a four times larger batch while the page is short and the double has more. Reading from the top again
    keeps the order consistent even if new mail arrives meanwhile; the growth bounds the repeated reading to about a
    third of the final batch.
    """
    owned: dict[uuid.UUID, bool] = {}
    batch_size = max(2 * limit, _FIRST_BATCH)
    while True:
        batch = await run_in_threadpool(read_newest, batch_size)
        keyed = [(nid, item) for item in batch if (nid := notification_id(item)) is not None]
        unknown = {nid for nid, _item in keyed} - owned.keys()
        if unknown:
            mine = await owned_ids(session, service_id, notification_type, unknown)
            owned.update({nid: nid in mine for nid in unknown})
        ours = [(nid, item) for nid, item in keyed if owned[nid]]
        start: int | None = 0
        if older_than is not None:
            start = next((i + 1 for i, (nid, _item) in enumerate(ours) if nid == older_than), None)
        page = ours[start : start + limit] if start is not None else []
        if len(page) == limit or len(batch) < batch_size:
            return page
        batch_size *= 4


async def emails(
    session: AsyncSession,
    service_id: uuid.UUID,
    maildir_path: Path,
    email_domain: str,
    *,
    limit: int,
    to: str | None,
    older_than: uuid.UUID | None,
) -> list[tuple[uuid.UUID, EmailSummary]]:
    """The service's emails in the sink, newest first, each with its notification id."""
    return await _owned_page(
        session,
        service_id,
        "email",
        lambda n: inbox.list_emails(maildir_path, limit=n, to=to),
        lambda summary: notification_id_of(summary.message_id, email_domain),
        limit=limit,
        older_than=older_than,
    )


async def email(
    session: AsyncSession, service_id: uuid.UUID, maildir_path: Path, email_domain: str, notification_id: uuid.UUID
) -> EmailSummary:
    """One email of the service; the same 404 whether it is another service's or not delivered yet."""
    if not await owned_ids(session, service_id, "email", {notification_id}):
        raise EmailNotInInbox()
    found = await run_in_threadpool(inbox.get_email, maildir_path, f"{notification_id}@{email_domain}")
    if found is None:
        raise EmailNotInInbox()
    return found


def _read_texts(store: Path, to: str | None, limit: int) -> list[TextMessage]:
    # `SmsStore` creates a missing store; a read must not, so no store yet simply means no texts yet.
    if not store.is_dir():
        return []
    return inbox.list_texts(store, to=to, limit=limit)


async def texts(
    session: AsyncSession,
    service_id: uuid.UUID,
    store: Path,
    *,
    limit: int,
    to: str | None,
    older_than: uuid.UUID | None,
) -> list[tuple[uuid.UUID, TextMessage]]:
    """The service's texts at the fake provider, newest first, each with its notification id."""
    return await _owned_page(
        session,
        service_id,
        "sms",
        lambda n: _read_texts(store, to, n),
        lambda text: _uuid(text.reference),
        limit=limit,
        older_than=older_than,
    )
