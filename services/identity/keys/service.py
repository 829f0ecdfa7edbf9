"""Key lifecycle (spec §8): every set always has an active key and a published standby, so a rotation, scheduled
or emergency, only ever promotes a key that relying parties have already had the chance to cache.

- `ensure_key_sets`: first start (and after any removal) gives each set its active key and a standby. A set's keys
  are of its algorithm (`SET_ALGORITHMS`): P-256 for ES256, 3072-bit RSA for RS256. An RSA key takes a few hundred
  milliseconds of CPU to make, so keys are made on a worker thread, never on the event loop.
- `rotate_due`: the scheduled rotation, run by the worker: promote the standby once the active key is older than
  `key_rotation_days` and the standby has been published for `key_publish_lead_h`; remove retired keys after
  `key_retire_h`.
- `promote` / `retire` / `remove`: the operator's commands (emergency rotation is `promote` of the standby followed
  by `remove` of the compromised key). Each is a security event.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import Conflict, NotFound
from services.identity import events
from services.identity.keys.models import (
    ACTIVE,
    KEY_SETS,
    PUBLISHED,
    REMOVED,
    RETIRED,
    RSA_KEY_BITS,
    SET_ALGORITHMS,
    STANDBY,
    SigningKey,
)
from services.identity.settings import IdentitySettings


def thumbprint_kid(key: ECKey | RSAKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256) in hex: 64 characters, as every `kid` here is."""
    raw = key.thumbprint()
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).hex()


def new_key(key_set: str, state: str, now: datetime) -> SigningKey:
    """A new key for `key_set`, of the set's algorithm. CPU-bound for an RSA set: see `ensure_key_sets`."""
    alg = SET_ALGORITHMS[key_set]
    key: ECKey | RSAKey = (
        RSAKey.generate_key(RSA_KEY_BITS, private=True) if alg == "RS256" else ECKey.generate_key("P-256", private=True)
    )
    kid = thumbprint_kid(key)
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}
    private = {**key.as_dict(private=True), "kid": kid}
    return SigningKey(
        kid=kid,
        key_set=key_set,
        alg=alg,
        state=state,
        private_jwk=json.dumps(private),
        public_jwk=public,
        created_at=now,
        activated_at=now if state == ACTIVE else None,
    )


async def _in_set(session: AsyncSession, key_set: str, state: str) -> list[SigningKey]:
    rows = await session.execute(
        select(SigningKey)
        .where(SigningKey.key_set == key_set, SigningKey.state == state)
        .order_by(SigningKey.created_at)
    )
    return list(rows.scalars())


async def ensure_key_sets(session: AsyncSession, now: datetime | None = None) -> list[SigningKey]:
    """Create whatever is missing: an active key and a standby per set. Returns the keys created."""
    now = now or utcnow()
    created = []
    for key_set in KEY_SETS:
        for state in (ACTIVE, STANDBY):
            if not await _in_set(session, key_set, state):
                key = await asyncio.to_thread(new_key, key_set, state, now)
                session.add(key)
                created.append(key)
                events.record(session, "key_created", kid=key.kid, key_set=key_set, state=state)
    await session.flush()
    return created


async def _get(session: AsyncSession, kid: str) -> SigningKey:
    key = await session.get(SigningKey, kid)
    if key is None or key.state == REMOVED:
        raise NotFound(f"no published key {kid!r}")
    return key


async def promote(session: AsyncSession, kid: str, now: datetime | None = None) -> SigningKey:
    """Make a published key the active key of its set; the previous active key is retired (still published)."""
    now = now or utcnow()
    key = await _get(session, kid)
    if key.state == ACTIVE:
        return key
    await session.execute(
        update(SigningKey)
        .where(SigningKey.key_set == key.key_set, SigningKey.state == ACTIVE)
        .values(state=RETIRED, retired_at=now)
    )
    await session.flush()
    key.state, key.activated_at, key.retired_at = ACTIVE, now, None
    await session.flush()
    events.record(session, "key_promoted", kid=kid, key_set=key.key_set)
    await ensure_key_sets(session, now)
    return key


async def retire(session: AsyncSession, kid: str, now: datetime | None = None) -> SigningKey:
    """Stop signing with a standby key while keeping it published. The active key is changed with `promote`."""
    key = await _get(session, kid)
    if key.state == ACTIVE:
        raise Conflict("the active key is retired by promoting another key")
    key.state, key.retired_at = RETIRED, now or utcnow()
    events.record(session, "key_retired", kid=kid, key_set=key.key_set)
    await ensure_key_sets(session, now)
    return key


async def remove(session: AsyncSession, kid: str, now: datetime | None = None) -> SigningKey:
    """Unpublish a key at once (a compromised key). An active key is replaced by its set's standby first."""
    now = now or utcnow()
    key = await _get(session, kid)
    if key.state == ACTIVE:
        standby = await _in_set(session, key.key_set, STANDBY)
        if not standby:
            raise Conflict("no standby key to promote in place of the active key")
        await promote(session, standby[0].kid, now)
    key.state, key.removed_at = REMOVED, now
    await session.flush()
    events.record(session, "key_removed", kid=kid, key_set=key.key_set)
    await ensure_key_sets(session, now)
    return key


async def rotate_due(session: AsyncSession, settings: IdentitySettings, now: datetime | None = None) -> list[str]:
    """The scheduled rotation; returns what it did, as `action:kid` strings."""
    now = now or utcnow()
    done: list[str] = []
    await ensure_key_sets(session, now)
    for key_set in KEY_SETS:
        active = (await _in_set(session, key_set, ACTIVE))[0]
        standby = await _in_set(session, key_set, STANDBY)
        age = now - (active.activated_at or active.created_at)
        lead = timedelta(hours=settings.key_publish_lead_h)
        if age >= timedelta(days=settings.key_rotation_days) and standby and now - standby[0].created_at >= lead:
            await promote(session, standby[0].kid, now)
            done.append(f"promoted:{standby[0].kid}")
        for old in await _in_set(session, key_set, RETIRED):
            if old.retired_at is not None and now - old.retired_at >= timedelta(hours=settings.key_retire_h):
                old.state, old.removed_at = REMOVED, now
                events.record(session, "key_removed", kid=old.kid, key_set=key_set, reason="retire period over")
                done.append(f"removed:{old.kid}")
    await session.flush()
    return done


async def published(session: AsyncSession) -> list[SigningKey]:
    rows = await session.execute(select(SigningKey).where(SigningKey.state.in_(PUBLISHED)))
    return list(rows.scalars())
