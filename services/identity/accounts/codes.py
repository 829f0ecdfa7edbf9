"""Emailed one-time codes and the counters behind lockouts (spec §9.2, §9.4), in Redis.

A code is 6 digits, valid `code_ttl_seconds`, stored as a keyed hash (never in the clear), and a new code for the
same purpose and address voids the old one. Five wrong entries void a code. Counters are per subject (an account
or an email address, hashed) and expire on their own, so a lockout ends without anyone clearing it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

import orjson
from redis.asyncio import Redis

from gaap.crypto import constant_time_equal, keyed_hash
from services.identity.oidc.store import PREFIX


class CodeCheck(StrEnum):
    ok = "ok"
    wrong = "wrong"
    #: No code, an expired one, or one voided by too many wrong entries.
    missing = "missing"


@dataclass(frozen=True)
class Limit:
    max_count: int
    window_seconds: int


class OneTimeCodes:
    def __init__(self, redis: Redis, key: bytes, *, ttl: int, max_failures: int) -> None:
        self.redis = redis
        self._key = key
        self.ttl = ttl
        self.max_failures = max_failures

    def _subject(self, purpose: str, subject: str) -> str:
        return f"{PREFIX}otc:{keyed_hash(self._key, f'{purpose}|{subject.lower()}')}"

    def _hash(self, code: str) -> str:
        return keyed_hash(self._key, "code|" + code)

    async def issue(self, purpose: str, subject: str) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        record = {"hash": self._hash(code), "failures": 0}
        await self.redis.set(self._subject(purpose, subject), orjson.dumps(record), ex=self.ttl)
        return code

    async def check(self, purpose: str, subject: str, code: str) -> CodeCheck:
        key = self._subject(purpose, subject)
        raw = await self.redis.get(key)
        if raw is None:
            return CodeCheck.missing
        record = orjson.loads(raw)
        if constant_time_equal(record["hash"], self._hash(code.strip().replace(" ", ""))):
            await self.redis.delete(key)
            return CodeCheck.ok
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key + ":failures")
            pipe.expire(key + ":failures", self.ttl)
            failures, _ = await pipe.execute()
        if failures >= self.max_failures:
            await self.redis.delete(key, key + ":failures")
        return CodeCheck.wrong


class Counters:
    """Fixed-window counters keyed by what they count (`password:<user>`, `send:<email>`, ...)."""

    def __init__(self, redis: Redis, key: bytes) -> None:
        self.redis = redis
        self._key = key

    def _name(self, kind: str, subject: str) -> str:
        return f"{PREFIX}count:{keyed_hash(self._key, f'{kind}|{subject.lower()}')}"

    async def hit(self, kind: str, subject: str, limit: Limit) -> int:
        name = self._name(kind, subject)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, limit.window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def exceeded(self, kind: str, subject: str, limit: Limit) -> bool:
        raw = await self.redis.get(self._name(kind, subject))
        return raw is not None and int(raw) >= limit.max_count

    async def clear(self, kind: str, subject: str) -> None:
        await self.redis.delete(self._name(kind, subject))
