"""Short-lived protocol state in Redis (spec §2): authorization codes, access tokens and client-assertion `jti`s.

Codes and tokens are stored under the SHA-256 of their value, so a Redis dump reveals none that could be used.

`/token` costs two round trips: it reads the code (`read_code`), lets Authlib validate the request with what it
read, then **redeems** it (`redeem`): one script records the assertion's `jti` if there is one (a replay loses),
claims the code (deletes it and leaves a "used" marker in its place: of two concurrent uses exactly one wins, and
the other is a reuse), stores the access token, lists it on the marker and records the client against the browser
session for logout. The script runs atomically, so a token is never stored for a code another request has claimed
or revoked. A reuse revokes every access token issued from the code (RFC 6749 §4.1.2): the marker lists them.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

PREFIX = "gaap:identity:"
#: KEYS: the jti, the code, its "used" marker, the access token, the session's clients, the user's `sid`s.
#: ARGV: the jti's TTL (0: no jti, for a client authenticated by its secret), the marker's TTL, the token's field
#: on the marker, the token's data and TTL, the client id, the `sid`, the TTL of the session records.
_REDEEM = """
if ARGV[1] ~= '0' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
if redis.call('DEL', KEYS[2]) == 0 then
  if redis.call('HEXISTS', KEYS[3], 'used') == 1 then
    return -1
  end
  return -2
end
redis.call('HSET', KEYS[3], 'used', '1', ARGV[3], '1')
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
redis.call('SADD', KEYS[5], ARGV[6])
redis.call('EXPIRE', KEYS[5], ARGV[8])
redis.call('SADD', KEYS[6], ARGV[7])
redis.call('EXPIRE', KEYS[6], ARGV[8])
return 1
"""
_READ = """
return {redis.call('GET', KEYS[1]), redis.call('HGET', KEYS[2], 'used')}
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Redeemed(enum.Enum):
    ISSUED = 1
    #: The client assertion's `jti` was used before: the code was left as it was.
    REPLAYED_ASSERTION = 0
    #: Another request claimed the code first: a reuse.
    CODE_TAKEN = -1
    #: The code expired after it was read, unclaimed.
    CODE_EXPIRED = -2


@dataclass(frozen=True)
class SessionRecord:
    """Where a browser session's relying parties are recorded (owned by `SessionStore`), so that `redeem` can
    record the client in the same script."""

    clients_key: str
    user_sids_key: str
    sid: str
    ttl: int


@dataclass(frozen=True)
class Redemption:
    """What a validated `/token` request writes when it wins the code."""

    code: str
    client_id: str
    #: The client assertion's `jti`; None when the client authenticated with its secret.
    jti: str | None
    jti_ttl: int
    access_token: str
    token_data: dict[str, Any]
    token_ttl: int
    session: SessionRecord


class GrantStore:
    def __init__(self, redis: Redis, *, used_code_ttl: int) -> None:
        self.redis = redis
        self.used_code_ttl = used_code_ttl
        self._redeem = redis.register_script(_REDEEM)
        self._read = redis.register_script(_READ)

    @staticmethod
    def _code(code: str) -> str:
        return f"{PREFIX}code:{digest(code)}"

    @staticmethod
    def _used(code: str) -> str:
        return f"{PREFIX}code-used:{digest(code)}"

    @staticmethod
    def _token(token: str) -> str:
        return f"{PREFIX}at:{digest(token)}"

    @staticmethod
    def _jti(client_id: str, jti: str) -> str:
        return f"{PREFIX}jti:{digest(client_id + '|' + jti)}"

    async def save_code(self, code: str, data: dict[str, Any], ttl: int) -> None:
        await self.redis.set(self._code(code), orjson.dumps(data), ex=ttl)

    async def read_code(self, code: str) -> tuple[dict[str, Any] | None, bool]:
        """The code's data (None if unknown or gone) and whether it has already been used."""
        raw, used = await self._read(keys=[self._code(code), self._used(code)])
        return (orjson.loads(raw) if raw else None), bool(used)

    async def redeem(self, redemption: Redemption) -> Redeemed:
        """Record the assertion's `jti`, claim the code, store the access token and record the client against the
        browser session, all or nothing: a replayed `jti` or a code already claimed writes nothing else."""
        r = redemption
        token_key = self._token(r.access_token)
        outcome = await self._redeem(
            keys=[
                # Without a jti the script never touches its key; the name only keeps KEYS in their places.
                self._jti(r.client_id, r.jti or ""),
                self._code(r.code),
                self._used(r.code),
                token_key,
                r.session.clients_key,
                r.session.user_sids_key,
            ],
            args=[
                max(1, r.jti_ttl) if r.jti is not None else 0,
                self.used_code_ttl,
                token_key.removeprefix(PREFIX),
                orjson.dumps(r.token_data),
                r.token_ttl,
                r.client_id,
                r.session.sid,
                r.session.ttl,
            ],
        )
        return Redeemed(int(outcome))

    async def revoke_from_code(self, code: str) -> int:
        """Mark the code revoked and delete every access token issued from it; returns how many were deleted."""
        used = self._used(code)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(used, "revoked", "1")
            pipe.expire(used, self.used_code_ttl)
            pipe.hkeys(used)
            _, _, keys = await pipe.execute()
        tokens = [k.decode() for k in keys if k.startswith(b"at:")]
        if tokens:
            await self.redis.delete(*(PREFIX + key for key in tokens))
        return len(tokens)

    async def read_token(self, token: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self._token(token))
        return orjson.loads(raw) if raw else None
