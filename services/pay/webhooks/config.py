"""An account's webhooks as the gateway pushes them (pay spec §3, §12), and their signing secrets.

Pay owns the secrets: it generates them (`webhook_test_`/`webhook_live_` + 26 random characters), stores them sealed
with `PAY_ENCRYPTION_KEYS` (they are needed in clear to sign, so a hash would not do), shows them to the gateway on
demand and rotates them with a 24 h overlap (§12.2). A push never carries a secret, so replaying or reordering pushes
cannot change one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.crypto import random_base32
from services.pay.accounts.models import Account
from services.pay.accounts.schemas import InvalidServiceDocument, WebhookSettings
from services.pay.ids import new_id
from services.pay.webhooks.models import Webhook
from services.pay.webhooks.outbox import EVENT_TYPES

#: §12.2: after a rotation the old secret stays live this long.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret(mode: str) -> str:
    return f"webhook_{mode}_{random_base32(26)}"


def check(mode: str, hooks: Sequence[WebhookSettings]) -> None:
    """Refuse (422) what pay could not deliver: an unknown event type, a URL that is not absolute http(s), plain
    http on a live account (§12: HTTPS only), or one URL twice."""
    seen = set()
    for hook in hooks:
        unknown = sorted(set(hook.subscriptions) - set(EVENT_TYPES))
        if unknown:
            raise InvalidServiceDocument(f"unknown webhook event types: {', '.join(unknown)}")
        parts = urlsplit(hook.callback_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidServiceDocument(f"a webhook callback URL must be an absolute http(s) URL: {hook.callback_url}")
        if mode == "live" and parts.scheme != "https":
            raise InvalidServiceDocument(f"a live webhook callback URL must use https: {hook.callback_url}")
        if hook.callback_url in seen:
            raise InvalidServiceDocument(f"the webhook {hook.callback_url} is listed twice")
        seen.add(hook.callback_url)


async def of_account(session: AsyncSession, service_id: object, mode: str) -> list[Webhook]:
    rows = await session.execute(
        select(Webhook).where(Webhook.service_id == service_id, Webhook.mode == mode).order_by(Webhook.created_at)
    )
    return list(rows.scalars().all())


async def apply(session: AsyncSession, account: Account, hooks: Sequence[WebhookSettings], now: datetime) -> None:
    """Make the account's webhooks what the push says (idempotent). A new URL gets a new webhook and secret; a URL
    no longer listed is made inactive, not deleted, so its messages stay readable."""
    existing = {hook.callback_url: hook for hook in await of_account(session, account.service_id, account.mode)}
    for wanted in hooks:
        hook = existing.pop(wanted.callback_url, None)
        if hook is None:
            hook = Webhook(
                id=new_id(),
                service_id=account.service_id,
                mode=account.mode,
                callback_url=wanted.callback_url,
                secret=new_secret(account.mode),
                created_at=now,
            )
            session.add(hook)
        hook.description = wanted.description
        hook.subscriptions = sorted(set(wanted.subscriptions))
        hook.active = wanted.active and account.service_active
    for gone in existing.values():
        gone.active = False
    await session.flush()


def rotate(hook: Webhook, now: datetime) -> str:
    """A new secret; the current one stays live for `ROTATION_OVERLAP` (§12.2). A rotation during an overlap
    ends the older overlap at once: at most two secrets are ever live."""
    hook.previous_secret = hook.secret
    hook.previous_until = now + ROTATION_OVERLAP
    hook.secret = new_secret(hook.mode)
    return hook.secret
