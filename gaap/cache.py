"""A per-process read-through cache for records that every request reads and that rarely change.

Reading a service's record or a template from the database on every request would make the database the
bottleneck of the hottest paths (GOV.UK Notify itself keeps such records in memory for a few seconds). Entries live
`ttl` seconds. Changes are also announced on a Redis channel that every process of the component follows, so a
change is seen everywhere at once where Redis is up, and within `ttl` where it is not. Concurrent misses for one
key share a single load.

Cached values are shared by every request of the process: cache immutable snapshots (frozen dataclasses, or ORM
objects expunged from their session and never modified), never live ORM objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger("gaap.cache")
T = TypeVar("T")
#: An announcement that drops everything, rather than one key.
EVERYTHING = b"*"


class LocalCache:
    def __init__(self, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        #: Bumped by every `forget`, so a load that began before a change is not stored after it.
        self._generation = 0

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > self.clock():
            value: T = hit[1]
            return value
        pending = self._inflight.get(key)
        if pending is not None:
            shared: T = await asyncio.shield(pending)
            return shared
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        generation = self._generation
        try:
            value = await load()
            if generation == self._generation:
                self._entries[key] = (self.clock() + self.ttl, value)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one entry, or everything when `key` is None."""
        self._generation += 1
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    async def follow(self, redis: Any, channel: str, parse: Callable[[bytes], Hashable | None]) -> None:
        """Drop what is announced on `channel` until cancelled, reconnecting when Redis comes back. `parse` turns
        a message into the key to drop (None: drop everything). Everything is dropped on (re)subscribing, since
        anything may have changed while we were not listening.

        Polls with a timeout shorter than the client's socket timeout, so a quiet channel is not an error."""
        while True:
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                self.forget()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        data = message.get("data")
                        raw = data if isinstance(data, bytes) else str(data).encode()
                        self.forget(None if raw == EVERYTHING else parse(raw))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cache invalidation channel unavailable", channel=channel, error=type(exc).__name__)
                await asyncio.sleep(2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


async def announce(redis: Any, channel: str, message: bytes = EVERYTHING) -> None:
    """Tell every process following `channel` to drop an entry (or everything). Best effort: the TTL bounds
    staleness without Redis."""
    try:
        await redis.publish(channel, message)
    except Exception as exc:
        log.warning("could not announce a change", channel=channel, error=type(exc).__name__)
