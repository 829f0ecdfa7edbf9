"""Short-lived protocol state in Redis (spec §2): authorization codes, access tokens and client-assertion `jti`s.

Codes and tokens are stored under the SHA-256 of their value, so a Redis dump reveals none that could be used.

A code is single-use. `/token` validates a request with the code it read, then **claims** it: one script deletes
the code and leaves a "used" marker in its place, so of two concurrent uses exactly one wins and the other is seen
as a reuse. A reuse revokes every access token issued from the code (RFC 6749 §4.1.2): the marker lists them, and a
token saved after a revocation (a race with the reuse) is deleted again at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from redis.asyncio import Redis

PREFIX = "gaap:identity:"
_CLAIM = """
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[2], 'used', '1')
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class GrantStore:
    def __init__(self, redis: Redis, *, used_code_ttl: int) -> None:
        self.redis = redis
        self.used_code_ttl = used_code_ttl
        self._claim = redis.register_script(_CLAIM)

    @staticmethod
    def _code(code: str) -> str:
        return f"{PREFIX}code:{digest(code)}"

    @staticmethod
    def _used(code: str) -> str:
        return f"{PREFIX}code-used:{digest(code)}"

    @staticmethod
    def _token(token: str) -> str:
        return f"{PREFIX}at:{digest(token)}"

    async def save_code(self, code: str, data: dict[str, Any], ttl: int) -> None:
        await self.redis.set(self._code(code), orjson.dumps(data), ex=ttl)

    async def read_code(self, code: str) -> tuple[dict[str, Any] | None, bool]:
        """The code's data (None if unknown or gone) and whether it has already been used."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self._code(code))
            pipe.hget(self._used(code), "used")
            raw, used = await pipe.execute()
        return (orjson.loads(raw) if raw else None), bool(used)

    async def claim_code(self, code: str) -> bool:
        """Take the code for good; False when another request took it first."""
        return bool(await self._claim(keys=[self._code(code), self._used(code)], args=[self.used_code_ttl]))

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

    async def save_token(self, code: str, token: str, data: dict[str, Any], ttl: int) -> bool:
        """Store an access token issued from `code`; False (and the token deleted) if the code was revoked meanwhile."""
        key, used = self._token(token), self._used(code)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, orjson.dumps(data), ex=ttl)
            pipe.hset(used, key.removeprefix(PREFIX), "1")
            pipe.hget(used, "revoked")
            _, _, revoked = await pipe.execute()
        if revoked:
            await self.redis.delete(key)
            return False
        return True

    async def read_token(self, token: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self._token(token))
        return orjson.loads(raw) if raw else None

    async def use_jti(self, client_id: str, jti: str, ttl: int) -> bool:
        """Record a client assertion's `jti`; False if this client has used it before (a replay)."""
        key = f"{PREFIX}jti:{digest(client_id + '|' + jti)}"
        return bool(await self.redis.set(key, b"1", nx=True, ex=max(1, ttl)))
