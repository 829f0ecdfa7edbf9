"""Handing ids to workers through Redis, with arq.

The queue is a doorbell, not a store: the work is already a committed row (ARCHITECTURE rule 2), so `enqueue`
is called after commit, carries only the row's id, and never raises. If Redis is down the row simply waits for
the sweeper; the request that created it has already succeeded.

Naming, shared by every component on one Redis:
- a lane is the arq queue `gaap:<component>:<lane>`;
- a job id is `gaap:<component>:<task>:<ident>` for "run now", and `...:<ident>@<due epoch ms>` for a deferred
  run (or `...:<dedupe_key>` when the caller gives one). arq refuses to enqueue an id whose job is still
  queued or running, so a sweeper's re-enqueue of a queued row is a no-op. A deferred retry scheduled by the
  running job itself gets a different id (it has a due time), so it is not swallowed by the job that is
  scheduling it.

Workers run with `keep_result=0`: arq would otherwise keep each finished job's result under its id for an hour
and refuse that id meanwhile, silently dropping a legitimate later enqueue of the same row (a retry, a row put
back to its first status). With no result kept, an id is free again as soon as its job finishes.

Jobs are serialised as JSON (orjson), not arq's default pickle: a job is just a task name and an id, and
unpickling whatever is in Redis would hand code execution to anyone who can write to it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.asyncio import Redis

from gaap.jobs.metrics import ENQUEUE_FAILED, ENQUEUED
from gaap.logging import get_logger
from gaap.redis import REDIS_SOCKET_TIMEOUT

log = get_logger("gaap.jobs")

#: Upper bound on one enqueue (WATCH, EXISTS, MULTI/EXEC: several round trips), so a hung Redis cannot hold up
#: the request that is enqueueing.
ENQUEUE_TIMEOUT = 2.0

Ident = str | UUID | int

#: `enqueue_many` in one round trip: arq's own enqueue (job key and queue entry, unless the job is already queued,
#: running or holding a result) for each job. KEYS: job key, result key, queue, per job. ARGV: job id, score,
#: expiry (ms) and payload, per job. Returns how many were queued.
_ENQUEUE_MANY = """
local queued = 0
for i = 0, #KEYS / 3 - 1 do
  local job_key = KEYS[3 * i + 1]
  if redis.call('EXISTS', job_key, KEYS[3 * i + 2]) == 0 then
    redis.call('PSETEX', job_key, ARGV[4 * i + 3], ARGV[4 * i + 4])
    redis.call('ZADD', KEYS[3 * i + 3], ARGV[4 * i + 2], ARGV[4 * i + 1])
    queued = queued + 1
  end
end
return queued
"""


@dataclass(frozen=True, slots=True)
class Enqueue:
    """One job for `JobQueue.enqueue_many`."""

    task: str
    ident: Ident
    lane: str
    defer_until: datetime | None = None


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def loads(raw: bytes) -> Any:
    return orjson.loads(raw)


def queue_name(component: str, lane: str) -> str:
    """The arq queue (a Redis sorted set) of one lane."""
    return f"gaap:{component}:{lane}"


def job_id(
    component: str,
    task: str,
    ident: Ident,
    *,
    defer_until: datetime | None = None,
    dedupe_key: str | None = None,
) -> str:
    """The arq job id that makes enqueues of the same work collapse into one queued job."""
    if dedupe_key is not None:
        key = dedupe_key
    elif defer_until is not None:
        key = f"{ident}@{int(defer_until.timestamp() * 1000)}"
    else:
        key = str(ident)
    return f"gaap:{component}:{task}:{key}"


def arq_redis(url: str, *, socket_timeout: float = REDIS_SOCKET_TIMEOUT, max_connections: int = 64) -> ArqRedis:
    """An arq client that connects lazily and fails fast, using our JSON serialiser.

    Unlike `arq.create_pool` it does not ping (and retry for seconds) at creation, so an API process starts
    and keeps serving while Redis is down.
    """
    client = ArqRedis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry_on_timeout=False,
        health_check_interval=30,
        max_connections=max_connections,
    )
    client.job_serializer = dumps
    client.job_deserializer = loads
    return client


class JobQueue:
    """Enqueues jobs for one component. Create one per process (`from_url` or `from_redis`) and share it."""

    def __init__(self, redis: ArqRedis, component: str, *, owns_pool: bool = True) -> None:
        self.redis = redis
        self.component = component
        self._owns_pool = owns_pool
        self._enqueue_many = redis.register_script(_ENQUEUE_MANY)

    @classmethod
    def from_url(cls, url: str, component: str) -> JobQueue:
        return cls(arq_redis(url), component)

    @classmethod
    def from_redis(cls, redis: Redis, component: str) -> JobQueue:
        """Share an existing client's connection pool (e.g. the app's `gaap.redis.create_redis` client)."""
        client = ArqRedis(pool_or_conn=redis.connection_pool, job_serializer=dumps, job_deserializer=loads)
        return cls(client, component, owns_pool=False)

    async def enqueue(
        self,
        task: str,
        ident: Ident,
        *,
        lane: str,
        defer_until: datetime | None = None,
        dedupe_key: str | None = None,
    ) -> bool:
        """Queue `task(ident)` on `lane`; True when the job is queued (now, or already by an earlier enqueue).

        Call it after the row is committed. It never raises: on a Redis failure it logs a warning, counts
        `gaap_jobs_enqueue_failed_total` and returns False, and the row waits for the sweeper.
        """
        queue = queue_name(self.component, lane)
        jid = job_id(self.component, task, ident, defer_until=defer_until, dedupe_key=dedupe_key)
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT):
                job = await self.redis.enqueue_job(
                    task, str(ident), _job_id=jid, _queue_name=queue, _defer_until=defer_until
                )
        except Exception as exc:  # never raise: the row is durable and the sweeper will re-queue it
            ENQUEUE_FAILED.labels(queue).inc()
            log.warning("jobs.enqueue_failed", queue=queue, task=task, id=str(ident), error=type(exc).__name__)
            return False
        ENQUEUED.labels(queue).inc()
        if job is None:
            log.debug("jobs.enqueue_deduplicated", queue=queue, task=task, id=str(ident))
        return True

    async def enqueue_many(self, jobs: Sequence[Enqueue]) -> bool:
        """Queue many jobs in one round trip, with `enqueue`'s semantics for each (an already queued job is left
        as it is). It never raises: on a Redis failure it logs, counts, returns False, and the sweeper re-queues."""
        if not jobs:
            return True
        now = timestamp_ms()
        keys: list[str] = []
        args: list[Any] = []
        for job in jobs:
            jid = job_id(self.component, job.task, job.ident, defer_until=job.defer_until)
            score = to_unix_ms(job.defer_until) if job.defer_until is not None else now
            keys += [job_key_prefix + jid, result_key_prefix + jid, queue_name(self.component, job.lane)]
            args += [jid, score, score - now + expires_extra_ms, serialize_job(job.task, (str(job.ident),), {}, None,
                     now, serializer=dumps)]  # fmt: skip
        lanes = Counter(queue_name(self.component, job.lane) for job in jobs)
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT):
                await self._enqueue_many(keys=keys, args=args)
        except Exception as exc:  # never raise: the rows are durable and the sweeper will re-queue them
            for queue, count in lanes.items():
                ENQUEUE_FAILED.labels(queue).inc(count)
            log.warning("jobs.enqueue_failed", queues=sorted(lanes), jobs=len(jobs), error=type(exc).__name__)
            return False
        for queue, count in lanes.items():
            ENQUEUED.labels(queue).inc(count)
        return True

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        if self._owns_pool:
            await self.redis.aclose(close_connection_pool=True)
