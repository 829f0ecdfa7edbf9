"""An in-memory, short-lived cache of what authentication needs: services and their keys (`gaap.cache`).

Every authenticated request needs its service and keys; reading them from the database each time would make the
database the gateway's bottleneck. Entries live `ttl` seconds (default 5). Revocations are also announced on a
Redis channel that every gateway process follows, so a revoked key stops working at once where Redis is up,
and within `ttl` where it is not. Concurrent misses for one entry share a single database read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gaap.cache import LocalCache, announce
from gaap.db.base import utcnow
from gaap.db.engine import Database
from gateway.keys import repository as key_repo
from gateway.keys.models import ApiKey
from gateway.keys.service import KeyMaterial
from gateway.tenants.models import Service

INVALIDATE_CHANNEL = "gaap:gateway:invalidate"


@dataclass(frozen=True, slots=True)
class NotifyKeyEntry:
    id: uuid.UUID
    key_type: str
    scopes: tuple[str, ...]
    secret: str
    revoked: bool

    @property
    def secret_bytes(self) -> bytes:
        return self.secret.encode()


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    id: uuid.UUID
    organisation_id: uuid.UUID
    active: bool
    restricted: bool
    rate_limit: int
    pay_rate_tier: str
    notify_keys: tuple[NotifyKeyEntry, ...]


@dataclass(frozen=True, slots=True)
class PayKeyEntry:
    id: uuid.UUID
    service_id: uuid.UUID
    mode: str
    scopes: tuple[str, ...]
    revoked: bool


class CredentialStore:
    def __init__(
        self,
        db: Database,
        material: KeyMaterial,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.material = material
        self._cache = LocalCache(ttl=ttl, clock=clock)
        self._used: dict[uuid.UUID, datetime] = {}

    async def service(self, service_id: uuid.UUID) -> ServiceEntry | None:
        return await self._cache.get(("service", service_id), lambda: self._load_service(service_id))

    async def _load_service(self, service_id: uuid.UUID) -> ServiceEntry | None:
        async with self.db.read_session() as session:
            service = await session.get(Service, service_id)
            if service is None:
                return None
            keys = await key_repo.keys_of_service(session, service_id, api="notify")
            entries = tuple(
                NotifyKeyEntry(
                    id=k.id,
                    key_type=k.key_type,
                    scopes=tuple(k.scopes),
                    secret=self.material.box.decrypt(k.secret_encrypted or ""),
                    revoked=k.revoked,
                )
                for k in keys
            )
            return ServiceEntry(
                id=service.id,
                organisation_id=service.organisation_id,
                active=service.active and service.archived_at is None,
                restricted=service.restricted,
                rate_limit=service.rate_limit,
                pay_rate_tier=service.pay_rate_tier,
                notify_keys=entries,
            )

    async def pay_key(self, key: str) -> PayKeyEntry | None:
        digest = self.material.hash(key)
        return await self._cache.get(("pay", digest), lambda: self._load_pay_key(digest))

    async def _load_pay_key(self, digest: str) -> PayKeyEntry | None:
        async with self.db.read_session() as session:
            row: ApiKey | None = await key_repo.key_by_hash(session, digest)
            if row is None or row.api != "pay":
                return None
            return PayKeyEntry(
                id=row.id,
                service_id=row.service_id,
                mode=row.key_type,
                scopes=tuple(row.scopes),
                revoked=row.revoked,
            )

    def invalidate(self) -> None:
        """Forget everything (after a revocation or a settings change)."""
        self._cache.forget()

    def note_used(self, key_id: uuid.UUID) -> None:
        self._used[key_id] = utcnow()

    async def flush_usage(self) -> None:
        """Write `last_used_at` for the keys seen since the last flush (at most once a minute per process)."""
        if not self._used:
            return
        used, self._used = self._used, {}
        async with self.db.write_session() as session:
            await key_repo.touch_keys(session, used)

    async def listen_for_invalidations(self, redis: Any) -> None:
        """Follow the invalidation channel until cancelled (any announcement drops everything)."""
        await self._cache.follow(redis, INVALIDATE_CHANNEL, lambda _message: None)


async def announce_invalidation(redis: Any) -> None:
    """Tell every gateway process to drop its cache. Best effort: the TTL bounds staleness without Redis."""
    await announce(redis, INVALIDATE_CHANNEL)
