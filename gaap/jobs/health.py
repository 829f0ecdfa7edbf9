"""Health for worker roles (ARCHITECTURE rule 9).

A worker is ready only when both its database and Redis answer: unlike an API process, it can do nothing
useful without either. Liveness checks nothing, so a database blip never restarts a worker pod.

Workers serve no HTTP API, so `ProbeServer` answers the three probe paths (`/healthz`, `/readyz`, `/metrics`)
on a port of their own with a few lines of asyncio instead of pulling a web framework into the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from gaap.db.engine import Database
from gaap.health import Check, readiness

READ_TIMEOUT = 5.0


def worker_checks(db: Database | None, redis: Redis) -> dict[str, Check]:
    checks: dict[str, Check] = {"redis": redis.ping}
    if db is not None:
        checks["database"] = db.ping
    return checks


async def worker_readiness(component: str, db: Database | None, redis: Redis) -> tuple[bool, dict[str, str]]:
    """(ready, {"database": "ok", "redis": "unavailable (ConnectionError)"}); both checks are required."""
    checks = worker_checks(db, redis)
    return await readiness(component, checks, required=set(checks))


async def worker_ready(db: Database | None, redis: Redis, *, component: str = "worker") -> bool:
    """True when the database and Redis both answer in time; also sets `gaap_dependency_up`."""
    ready, _ = await worker_readiness(component, db, redis)
    return ready


Readiness = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]


class ProbeServer:
    """A minimal HTTP/1.0 responder for the probe paths: one request per connection, then close."""

    def __init__(self, ready: Readiness, *, host: str = "0.0.0.0", port: int = 0) -> None:
        self._ready = ready
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/healthz":
            return 200, "application/json", orjson.dumps({"status": "ok"})
        if path == "/readyz":
            ready, report = await self._ready()
            body = orjson.dumps({"status": "ready" if ready else "not ready", "checks": report})
            return (200 if ready else 503), "application/json", body
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        return 404, "application/json", orjson.dumps({"error": "NOT_FOUND", "message": "no such probe"})

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                request_line = await reader.readline()
                while (await reader.readline()).strip():  # skip headers
                    pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else "/"
            status, content_type, body = await self._answer(path)
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()
