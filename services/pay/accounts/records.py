"""Accounts as every request reads them, cached per process (`gaap.cache.LocalCache`), as notify caches its
services (`services.notify.records`).

A payment's seven requests (create, token, four pages, return) each need its account's settings; they change only
when the gateway pushes a new version. A push drops the account here at once and is announced on a Redis channel
that every pay process follows, so a change is seen everywhere at once, and within `ttl` seconds (5) if Redis is
down: an account switched off stops taking payments within that bound. What is cached are snapshots: `Account`
rows expunged from the session that read them, which nothing modifies (the push loads its own copy).
"""

from __future__ import annotations

import uuid
from typing import Any

from gaap.cache import LocalCache, announce
from gaap.db.engine import Database
from services.pay.accounts.models import MODES, Account
from services.pay.auth import account_of

CHANNEL = "gaap:pay:accounts"


def _parse(message: bytes) -> tuple[uuid.UUID, str] | None:
    """The account that changed, as `service_id:mode`; None (drop everything) for anything else."""
    ident, _, mode = message.decode(errors="replace").partition(":")
    try:
        return uuid.UUID(ident), mode
    except ValueError:
        return None


class AccountRecords:
    def __init__(self, db: Database, redis: Any, *, ttl: float = 5.0) -> None:
        self.db = db
        self.redis = redis
        self.cache = LocalCache(ttl=ttl)

    async def account(self, service_id: uuid.UUID, mode: str) -> Account:
        """The account's settings (`account_of`, so 500 P0199 while the gateway has not pushed it: a miss is
        never cached, and the first request after the push finds it)."""
        account: Account = await self.cache.get((service_id, mode), lambda: account_of(self.db, service_id, mode))
        return account

    async def changed(self, service_id: uuid.UUID) -> None:
        """After a committed push: drop the service's accounts here and in every other pay process."""
        for mode in MODES:
            self.cache.forget((service_id, mode))
            await announce(self.redis, CHANNEL, f"{service_id}:{mode}".encode())

    async def follow(self) -> None:
        """Follow other processes' announcements until cancelled."""
        await self.cache.follow(self.redis, CHANNEL, _parse)
