"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), and the session per request.

SQLite needs care to be safe under concurrency (see docs/kernel.md):
- WAL, `synchronous=NORMAL`, `busy_timeout` and foreign keys on every connection;
- the driver's own transaction handling is switched off and we emit `BEGIN` ourselves: `BEGIN IMMEDIATE` for
  write sessions, so two writers queue on the database lock instead of failing half-way ("database is locked"),
  and a plain deferred `BEGIN` for read-only sessions, which never block writers under WAL.
SQLite ignores `SELECT ... FOR UPDATE`; `BEGIN IMMEDIATE` is what serialises read-modify-write there.

PostgreSQL connections are checked before each checkout, so one that died while idle in the pool (the database
restarted) is replaced instead of failing a request. SQLAlchemy's `pool_pre_ping` does that on asyncpg with three
round trips (BEGIN, an empty statement, ROLLBACK: a transaction for pgbouncer's transaction mode, which the
platform does not use); `_install_asyncpg_ping` does it with one `SELECT 1`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; `_on_begin` emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def _install_asyncpg_ping(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Runs inside SQLAlchemy's greenlet, so the driver's coroutine can be awaited; a DisconnectionError makes
        # the pool throw this connection away and check out another (up to three times).
        try:
            await_only(dbapi_connection.driver_connection.execute("SELECT 1"))  # the simple protocol: one round trip
        except Exception as exc:
            raise DisconnectionError(f"the pooled connection is gone: {exc!r}") from exc


class Database:
    """One component's database: an engine and the two kinds of session it hands out.

    `write_session()` is the default for a request: it commits on success and rolls back on error, and on SQLite
    takes the write lock at BEGIN. `read_session()` never writes (it always rolls back) and never takes the lock.
    """

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            # A pool of file connections is cheap and keeps WAL readers separate from the writer.
            kwargs["pool_size"] = pool_size
        else:
            # A fixed pool, no overflow: SQLAlchemy closes an overflow connection as soon as it is returned, and
            # under the uneven concurrency a service sees behind the gateway that meant opening and closing
            # PostgreSQL connections all the time (measured: PostgreSQL CPU per request doubled). Size the pool to
            # the process's concurrency instead (`<PREFIX>_DB_POOL_SIZE`).
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 0
            kwargs["pool_recycle"] = 1800
        if url.endswith(":memory:"):
            kwargs.pop("pool_size", None)
            kwargs["poolclass"] = NullPool
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.sqlite:
            _install_sqlite_hooks(self.engine)
        else:
            _install_asyncpg_ping(self.engine)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._reader = async_sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False, autoflush=False
        )

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit if the block succeeds, roll back if it raises."""
        async with self._writer() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work: always rolled back."""
        async with self._reader() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def ping(self) -> None:
        async with self.engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
            await conn.execute(text("SELECT 1"))
            await conn.rollback()

    async def dispose(self) -> None:
        await self.engine.dispose()
