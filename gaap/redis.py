"""Redis client factory. Short timeouts everywhere: a Redis outage must fail fast, never hang a request."""

from __future__ import annotations

from redis.asyncio import Redis

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
