"""Ending a browser session (spec §7.3, §7.4): the Redis session goes at once, and every client that received an ID
token in it, and registered a `BackChannelLogoutUri`, gets an outbox row for its logout token."""

from __future__ import annotations

import time
import uuid

from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.identity.deps import Provider
from services.identity.events import record
from services.identity.keys.models import OIDC
from services.identity.keys.ring import KeySnapshot
from services.identity.logout.models import BackChannelLogout
from services.identity.sessions.store import BrowserSession

LANE = "logout"
TASK = "send_backchannel_logout"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def end_session(
    op: Provider, db: AsyncSession, session: BrowserSession, response: Response, reason: str
) -> list[uuid.UUID]:
    """End the browser session; returns the outbox rows to enqueue once the request's transaction has committed."""
    queued: list[uuid.UUID] = []
    client_ids = await op.sessions.take_clients(session.sid)
    if session.user_id is not None:
        queued = await queue_logouts(op, db, session.user_id, client_ids, reason)
        record(db, "signed_out", user_id=uuid.UUID(session.user_id), reason=reason, clients=client_ids)
    await db.flush()
    await op.sessions.destroy(session, response)
    return queued


async def end_other_sessions(op: Provider, db: AsyncSession, keep: BrowserSession, reason: str) -> list[uuid.UUID]:
    """End every session of `keep`'s user signed in before `keep` was, and queue back-channel logout for the clients
    the ended sessions gave ID tokens to; returns the outbox rows to enqueue once the request commits."""
    assert keep.user_id is not None
    client_ids = await op.sessions.end_others(keep)
    queued = await queue_logouts(op, db, keep.user_id, client_ids, reason)
    record(db, "sessions_ended", user_id=uuid.UUID(keep.user_id), reason=reason, clients=client_ids)
    await db.flush()
    return queued


async def queue_logouts(
    op: Provider, db: AsyncSession, user_id: str, client_ids: list[str], reason: str
) -> list[uuid.UUID]:
    """An outbox row for each of the clients that registered a `BackChannelLogoutUri`."""
    queued: list[uuid.UUID] = []
    for client_id in client_ids:
        client = await op.clients.get(client_id)
        if client is None or not client.backchannel_logout_uri:
            continue
        row = BackChannelLogout(
            id=uuid.uuid4(),
            client_id=client_id,
            sub=op.subject_for(client, user_id),
            uri=client.backchannel_logout_uri,
            reason=reason,
        )
        db.add(row)
        queued.append(row.id)
    return queued


async def enqueue(op: Provider, ids: list[uuid.UUID]) -> None:
    for ident in ids:
        await op.jobs.enqueue(TASK, ident, lane=LANE)


def logout_token(keys: KeySnapshot, issuer: str, client_id: str, sub: str, ttl: int) -> str:
    """A fresh logout token (OIDC Back-Channel Logout 1.0 §2.4): never a `nonce`, no `sid`."""
    signer = keys.signer(OIDC)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "events": {EVENT: {}},
    }
    return jwt.encode({"alg": "ES256", "kid": signer.kid, "typ": "logout+jwt"}, claims, signer.private, ["ES256"])
