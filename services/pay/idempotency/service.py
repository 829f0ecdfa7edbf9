"""The §4.5 protocol, shared by every POST.

1. Validation (§4.2 steps 1–7, the header itself, and a MOTO token that resolves to no payment) happens before any
   of this, and is never recorded, so a corrected request may reuse its key.
2. `begin` inserts an `in_progress` row with `INSERT ... ON CONFLICT DO NOTHING` in a transaction of its own,
   committed at once, so a concurrent duplicate sees it. On conflict: an expired row is replaced; a different
   body, or the same body still in progress, is 409 P0191; the same body completed is a replay.
3. The operation runs in the request's own transaction; its answer (any status it returns) is stored and the row
   completed in that same transaction, so the effect and its record commit together.
4. A 4xx the operation raises changed nothing (the request's transaction is rolled back): that answer is stored
   in a transaction of its own. Anything else raised (a 5xx before any state change) deletes the row.
5. A row left `in_progress` by a crash is settled by the worker after 5 minutes (`settle_stale`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.errors import FAMILIES, json_response
from services.pay.errors import Endpoint, PayError
from services.pay.idempotency.models import COMPLETED, IN_PROGRESS, IdempotencyKey

STALE_AFTER = timedelta(minutes=5)
REPLAYED = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Scope:
    """Where a key applies (§4.5): the account, the method and the resolved path."""

    service_id: uuid.UUID
    mode: str
    method: str
    path: str
    key: str


@dataclass(frozen=True)
class Answer:
    """An operation's outcome: what the client hears and what a replay repeats."""

    status_code: int
    body: Any | None = None
    resource_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: False for answers whose replay is rebuilt from `resource_id` (a created payment): their body holds one-time
    #: tokens, which are never stored in the clear.
    store_body: bool = True

    @classmethod
    def of_error(cls, error: PayError) -> Answer:
        """An error as an answer: what a replay of a refused request repeats."""
        return cls(error.status_code, FAMILIES["pay"].body(error, ""))

    def response(self, extra_headers: dict[str, str] | None = None) -> Response:
        headers = {**self.headers, **(extra_headers or {})}
        if self.body is None:
            return Response(status_code=self.status_code, headers=headers)
        return json_response(self.status_code, self.body, headers)


@dataclass(frozen=True)
class Claim:
    row_id: uuid.UUID
    #: Set when this request repeats a completed one: its stored answer.
    replay: Answer | None = None


def fingerprint(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body if body is not None else {}, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def begin(db: Database, scope: Scope, body: Any, endpoint: Endpoint, ttl: timedelta) -> Claim:
    digest = fingerprint(body)
    where = (
        IdempotencyKey.service_id == scope.service_id,
        IdempotencyKey.mode == scope.mode,
        IdempotencyKey.method == scope.method,
        IdempotencyKey.path == scope.path,
        IdempotencyKey.key == scope.key,
    )
    for _ in range(2):
        now = utcnow()
        row_id = uuid.uuid4()
        async with db.write_session() as session:
            dialect = sqlite if db.sqlite else postgresql
            statement = (
                dialect.insert(IdempotencyKey)
                .values(
                    id=row_id,
                    service_id=scope.service_id,
                    mode=scope.mode,
                    method=scope.method,
                    path=scope.path,
                    key=scope.key,
                    fingerprint=digest,
                    state=IN_PROGRESS,
                    created_at=now,
                    expires_at=now + ttl,
                )
                .on_conflict_do_nothing()
            )
            result: CursorResult[Any] = await session.execute(statement)  # type: ignore[assignment]
            if result.rowcount == 1:
                return Claim(row_id)
            existing = (await session.execute(select(IdempotencyKey).where(*where))).scalar_one_or_none()
            if existing is None:
                continue
            if existing.expires_at <= now:
                await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
                continue
            if existing.fingerprint != digest or existing.state != COMPLETED:
                raise endpoint.key_reused()
            assert existing.status_code is not None
            stored = Answer(existing.status_code, existing.response_body, existing.resource_id)
            return Claim(existing.id, replay=stored)
    raise endpoint.key_reused()


async def complete(session: AsyncSession, claim: Claim, answer: Answer) -> None:
    """Record the answer; call it in the transaction that records the effect."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.state == IN_PROGRESS)
        .values(
            state=COMPLETED,
            status_code=answer.status_code,
            response_body=answer.body if answer.store_body else None,
            resource_id=answer.resource_id,
        )
    )


async def abandon(db: Database, claim: Claim) -> None:
    """Nothing happened: free the key for a retry."""
    async with db.write_session() as session:
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id == claim.row_id, IdempotencyKey.state == IN_PROGRESS)
        )


async def settle_stale(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete `in_progress` rows older than 5 minutes, and expired rows; returns how many went.

    A record is completed in the transaction of its effect, so a row still `in_progress` after 5 minutes belongs
    to a request that crashed before committing any effect: there is no resource to complete it from, and deleting
    it lets the client's retry through."""
    now = now or utcnow()
    stale: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(IdempotencyKey).where(IdempotencyKey.state == IN_PROGRESS, IdempotencyKey.created_at < now - STALE_AFTER)
    )
    expired: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
    )
    return (stale.rowcount or 0) + (expired.rowcount or 0)


async def _replay(answer: Answer) -> Response:
    return answer.response(REPLAYED)


async def perform(
    db: Database,
    session: AsyncSession,
    scope: Scope | None,
    body: Any,
    endpoint: Endpoint,
    operation: Callable[[], Awaitable[Answer]],
    *,
    ttl: timedelta,
    replay: Callable[[Answer], Awaitable[Response]] = _replay,
) -> Response:
    """Run `operation` once per key (steps 2–4 above); without a key (`scope` None) just run it."""
    if scope is None:
        return (await operation()).response()
    claim = await begin(db, scope, body, endpoint, ttl)
    if claim.replay is not None:
        return await replay(claim.replay)
    try:
        answer = await operation()
    except PayError as exc:
        await session.rollback()
        if exc.status_code >= 500:
            await abandon(db, claim)
            raise
        async with db.write_session() as own:
            await complete(own, claim, Answer.of_error(exc))
        raise
    except BaseException:
        await session.rollback()
        await abandon(db, claim)
        raise
    await complete(session, claim, answer)
    return answer.response()
