"""Redis client factory. Short timeouts everywhere: a Redis outage must fail fast, never hang a request."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: What redis-py raises when the server cannot be reached or does not answer in time (loading after a restart
#: included): the request that met it is answered 503, as a database outage is (`gaap.app`, `gaap.pages`). Paths
#: with a policy of their own for Redis (fail open, a local stand-in) catch these first.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

REDIS_SOCKET_TIMEOUT = 1.0


def create_redis(url: str, *, socket_timeout: float = REDIS_SOCKET_TIMEOUT, max_connections: int = 64) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
        max_connections=max_connections,
        retry_on_timeout=False,
        decode_responses=False,
    )
