"""Appending to and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.context import current_request_id
from gaap.db.base import utcnow
from gateway.audit.models import GENESIS_HASH, AuditChain, AuditEvent


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "id": str(event.id),
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "organisation_id": event.organisation_id,
        "service_id": event.service_id,
        "details": event.details,
        "request_id": event.request_id,
    }


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID,
    service_id: str | uuid.UUID | None = None,
    organisation_id: str | uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: the action and its audit entry commit together."""
    head = (await session.execute(select(AuditChain).where(AuditChain.id == 1).with_for_update())).scalar_one()
    event = AuditEvent(
        seq=head.last_seq + 1,
        id=uuid.uuid4(),
        occurred_at=occurred_at or utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        service_id=str(service_id) if service_id else None,
        organisation_id=str(organisation_id) if organisation_id else None,
        details=details or {},
        request_id=current_request_id(),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event.prev_hash, _fields(event))
    head.last_seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""


async def verify(session: AsyncSession, *, batch: int = 1000) -> ChainReport:
    """Walk the whole chain: every hash recomputes, every event links to its predecessor, no gap, and the head
    row agrees with the last event (so truncating the tail is detected too)."""
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(False, count, expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != prev:
                return ChainReport(False, count, event.seq, "does not link to the previous event")
            if event_hash(event.prev_hash, _fields(event)) != event.hash:
                return ChainReport(False, count, event.seq, "its contents do not match its hash")
            prev = event.hash
            expected_seq += 1
            count += 1
            last_seq = event.seq
    head = (await session.execute(select(AuditChain).where(AuditChain.id == 1))).scalar_one_or_none()
    if head is None or head.last_seq != count or head.last_hash != prev:
        return ChainReport(False, count, count + 1, "the chain head does not match the last event")
    return ChainReport(True, count)


async def search(
    session: AsyncSession,
    *,
    service_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
    actor_contains: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
) -> list[AuditEvent]:
    """Events newest first. `actor` matches exactly, `actor_contains` any part of the actor (case-insensitive);
    `since` is inclusive and `until` exclusive. Paging is by `seq`: `before_seq` gives the next older page,
    `after_seq` the page just newer than it (still newest first)."""
    query = select(AuditEvent)
    if service_id:
        query = query.where(AuditEvent.service_id == service_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if actor_contains:
        query = query.where(AuditEvent.actor.icontains(actor_contains, autoescape=True))
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    if before_seq:
        query = query.where(AuditEvent.seq < before_seq)
    if after_seq:
        newer = query.where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)
        return list(reversed((await session.execute(newer)).scalars().all()))
    query = query.order_by(AuditEvent.seq.desc()).limit(limit)
    return list((await session.execute(query)).scalars().all())


async def actions(session: AsyncSession, *, service_id: str | None = None) -> list[str]:
    """The actions recorded (for one service, or on the whole platform), alphabetically: a search's choices."""
    query = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    if service_id:
        query = query.where(AuditEvent.service_id == service_id)
    return list((await session.execute(query)).scalars().all())


def hash_matches(event: AuditEvent) -> bool:
    """Whether the event's stored hash is the hash of its contents and its predecessor's hash (one link of what
    `verify` checks for the whole chain)."""
    return event_hash(event.prev_hash, _fields(event)) == event.hash
