"""The §18.9 protocol.

1. `begin` inserts an `in_progress` row with `INSERT ... ON CONFLICT DO NOTHING` in a transaction of its own,
   committed at once, so a concurrent duplicate sees it. On conflict: an expired row is replaced; a different
   body, or the same body still in progress, is a 409; the same body completed is a replay of the stored 201.
2. The send runs in the request's own transaction, and `complete` marks the row completed with the 201 body in
   that same transaction: the notification and its record commit together.
3. Any error answer `abandon`s the row (deletes it), so a corrected retry may reuse the key. A row left
   `in_progress` by a crash is settled by the sweeper (`settle_stale`) after 5 minutes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.errors import Conflict
from services.notify.idempotency.models import COMPLETED, IN_PROGRESS, IdempotencyKey

TTL = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=5)


class IdempotencyConflict(Conflict):
    code = "IdempotencyConflict"


@dataclass(frozen=True)
class Claim:
    row_id: uuid.UUID
    #: Set when this request is a replay: the stored 201 body.
    replay: dict[str, Any] | None = None


def fingerprint(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def begin(
    db: Database, *, service_id: uuid.UUID, key_type: str, path: str, key: str, body: Any, ttl: timedelta = TTL
) -> Claim:
    digest = fingerprint(body)
    for _ in range(2):
        now = utcnow()
        row_id = uuid.uuid4()
        async with db.write_session() as session:
            dialect = sqlite if db.sqlite else postgresql
            values = {
                "id": row_id,
                "service_id": service_id,
                "key_type": key_type,
                "path": path,
                "key": key,
                "fingerprint": digest,
                "state": IN_PROGRESS,
                "created_at": now,
                "expires_at": now + ttl,
            }
            statement = dialect.insert(IdempotencyKey).values(**values).on_conflict_do_nothing()
            inserted = (await session.execute(statement)).rowcount == 1  # type: ignore[attr-defined]
            if inserted:
                return Claim(row_id)
            existing = (
                await session.execute(
                    select(IdempotencyKey).where(
                        IdempotencyKey.service_id == service_id,
                        IdempotencyKey.key_type == key_type,
                        IdempotencyKey.path == path,
                        IdempotencyKey.key == key,
                    )
                )
            ).scalar_one_or_none()
            if existing is None:
                continue
            if existing.expires_at <= now:
                await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
                continue
            if existing.fingerprint != digest:
                raise IdempotencyConflict("Idempotency-Key has already been used with a different request body")
            if existing.state != COMPLETED:
                raise IdempotencyConflict("A request with this Idempotency-Key is still in progress")
            return Claim(existing.id, replay=existing.response_body)
    raise IdempotencyConflict("A request with this Idempotency-Key is still in progress")


async def complete(session: AsyncSession, claim: Claim, body: dict[str, Any], notification_id: uuid.UUID) -> None:
    """In the transaction that stores the notification."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.state == IN_PROGRESS)
        .values(state=COMPLETED, response_body=body, notification_id=notification_id)
    )


async def abandon(db: Database, claim: Claim) -> None:
    """The send was refused (or answered without storing anything): free the key for a corrected retry."""
    async with db.write_session() as session:
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id == claim.row_id, IdempotencyKey.state == IN_PROGRESS)
        )


async def settle_stale(session: AsyncSession, *, now: Any = None) -> int:
    """Remove `in_progress` rows older than 5 minutes, and expired rows. A record is completed in the transaction
    that stores its notification, so an `in_progress` row that old belongs to a request that crashed before
    storing anything: deleting it lets the client's retry go through. Returns how many rows were removed."""
    now = now or utcnow()
    stale = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.state == IN_PROGRESS, IdempotencyKey.created_at < now - STALE_AFTER)
    )
    expired = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return (stale.rowcount or 0) + (expired.rowcount or 0)  # type: ignore[attr-defined]
