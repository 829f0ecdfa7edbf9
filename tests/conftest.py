"""Fixtures shared by the whole suite.

The servers are real and started outside pytest by `make test` (see `gaap/embedded/testservers.py`), which exports:
- `GAAP_TEST_REDIS_URL`: a throwaway Redis on loopback; each xdist worker uses its own database number;
- `GAAP_TEST_POSTGRES_DSN`: a superuser DSN to a throwaway PostgreSQL cluster; fixtures create databases in it.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

#: The shared rigs (notify, pay, identity, the console...), each a fixture once for the whole suite.
pytest_plugins = ["tests.rigs"]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test` (it starts the servers)")
    return value


@pytest.fixture(scope="session")
def worker_id_number(worker_id: str) -> int:
    """0 for the controller or gw0, 1 for gw1, ..."""
    match = re.search(r"(\d+)$", worker_id)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="session")
def redis_url(worker_id_number: int) -> str:
    base = _env("GAAP_TEST_REDIS_URL").rstrip("/")
    base = re.sub(r"/\d+$", "", base)
    return f"{base}/{1 + worker_id_number % 15}"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    return _env("GAAP_TEST_POSTGRES_DSN")


@pytest.fixture(scope="session")
def make_postgres_database(postgres_dsn: str, worker_id: str) -> Iterator[object]:
    """A factory: `make_postgres_database("gateway")` -> a fresh `postgresql+asyncpg://` URL for this worker."""
    import asyncio

    import asyncpg

    created: list[str] = []

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def factory(label: str) -> str:
        name = f"t_{worker_id}_{label}_{uuid.uuid4().hex[:8]}".lower()
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        base = postgres_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base}/{name}"

    yield factory
    for name in created:
        # The cluster is thrown away at the end of the run anyway.
        with contextlib.suppress(Exception):
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
