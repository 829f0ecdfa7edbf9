"""`gaap.db.outage.storage_full`: a database whose disk is full (a 503 saying so) told apart from other database
errors. SQLite's own error comes from a real database file capped with `max_page_count`, through the kernel's engine;
end to end, tests/reliability/test_disk_full.py fills a tmpfs under the embedded data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from gaap.db.engine import Database
from gaap.db.outage import database_unavailable, storage_full


async def write(db: Database, *, full: bool) -> None:
    """Fill a database capped at eight pages (`full`), or write to a table that does not exist."""
    async with db.write_session() as session:
        if full:
            await session.execute(text("PRAGMA max_page_count = 8"))
            for _ in range(64):
                await session.execute(text("INSERT INTO filler VALUES (zeroblob(4096))"))
        else:
            await session.execute(text("INSERT INTO missing VALUES (1)"))


async def sqlite_error(path: Path, *, full: bool) -> DBAPIError:
    """The error the kernel's engine raises for `write`."""
    db = Database(f"sqlite+aiosqlite:///{path}", pool_size=1)
    try:
        async with db.write_session() as session:
            await session.execute(text("CREATE TABLE filler (body BLOB)"))
        with pytest.raises(DBAPIError) as raised:
            await write(db, full=full)
        return raised.value
    finally:
        await db.dispose()


async def test_sqlites_full_database_is_storage_full(tmp_path: Path) -> None:
    error = await sqlite_error(tmp_path / "full.db", full=True)
    assert isinstance(error, OperationalError)
    assert "database or disk is full" in str(error)
    assert storage_full(error)
    assert not database_unavailable(error)


async def test_other_sqlite_errors_are_not(tmp_path: Path) -> None:
    error = await sqlite_error(tmp_path / "other.db", full=False)
    assert isinstance(error.orig, sqlite3.OperationalError)
    assert not storage_full(error)


def wrapped(driver_error: BaseException) -> DBAPIError:
    """As SQLAlchemy's asyncpg adapter raises it: its own error, with the driver's as the cause."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("INSERT", None, adapted)


def test_postgresqls_disk_full_is_storage_full() -> None:
    assert storage_full(wrapped(asyncpg.exceptions.DiskFullError("could not extend file: No space left on device")))


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),  # not from the database: a bug elsewhere, left alone
        ConnectionRefusedError(111, "Connection refused"),
        IntegrityError("INSERT", None, Exception("duplicate key")),
        wrapped(asyncpg.exceptions.UndefinedColumnError("column does not exist")),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
    ],
)
def test_not_storage_full(error: BaseException) -> None:
    assert not storage_full(error)
