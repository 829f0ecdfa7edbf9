"""Telling "the database is unreachable" apart from a bug, so a request that needed it is answered 503, not 500.

While PostgreSQL is down or restarting, asyncpg raises the socket's own `ConnectionError` (refused or reset,
unwrapped by SQLAlchemy when no connection was made), `asyncpg`'s connection errors (wrapped by SQLAlchemy as a
`DBAPIError`, marked `connection_invalidated` when an open connection died under a statement), or the pool's
`TimeoutError` once every connection is stuck. A builtin `ConnectionError` or `TimeoutError` counts only when it was
raised inside the database driver or SQLAlchemy (its traceback passes through them): the same exceptions from an
HTTP call or an `asyncio.timeout` elsewhere are that code's to handle, not a database outage.

A request that meets one of these has changed nothing durable: its transaction never committed. The same request
succeeds again once the database is back, which is what a 503 (and a client's retry) means. SQLite's errors are
not among them: a locked database file is a different answer.

A full disk (`storage_full`) is the other such state: SQLite's `SQLITE_FULL` ("database or disk is full") or
PostgreSQL's `disk_full` (53100) fails the statement or the commit, the transaction rolls back, and the same request
succeeds once space is freed. It is answered 503 too, with `STORAGE_FULL_MESSAGE` saying what is wrong, since the
operator, not the client, has to act.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_ASYNCPG_UNREACHABLE = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.exceptions.ConnectionFailureError,
)


_DATABASE_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy")


def _raised_by_database_code(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.partition(".")[0] in _DATABASE_MODULES:
            return True
        tb = tb.tb_next
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached (rather than that a statement was wrong)."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, ConnectionError | TimeoutError):
        return _raised_by_database_code(exc)
    if not isinstance(exc, DBAPIError):
        return False
    # SQLAlchemy's asyncpg adapter wraps the driver's exception and keeps it as the wrapper's cause.
    driver = getattr(exc.orig, "__cause__", None) or exc.orig
    return exc.connection_invalidated or isinstance(driver, (*_ASYNCPG_UNREACHABLE, ConnectionError))


STORAGE_FULL_MESSAGE = "The service cannot store anything until space is freed on its disk, try again later"


def storage_full(exc: BaseException) -> bool:
    """Whether `exc` says the database's disk is full (rather than that a statement was wrong)."""
    if not isinstance(exc, DBAPIError):
        return False
    driver = getattr(exc.orig, "__cause__", None) or exc.orig
    if isinstance(driver, asyncpg.exceptions.DiskFullError):
        return True
    return isinstance(exc.orig, sqlite3.Error) and exc.orig.sqlite_errorcode == sqlite3.SQLITE_FULL
