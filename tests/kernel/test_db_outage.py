"""`gaap.db.outage.database_unavailable`: which errors mean "the database could not be reached" (a 503) and which
are bugs or refusals (left alone). End to end, tests/reliability/test_outages.py takes PostgreSQL away."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gaap.db.outage import database_unavailable


def wrapped(driver_error: BaseException, *, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy's asyncpg adapter raises it: its own error, with the driver's as the cause."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("SELECT 1", None, adapted, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        PoolTimeout("QueuePool limit reached"),
        wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
        wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        wrapped(ConnectionResetError(104, "reset")),
        wrapped(Exception("server closed the connection"), invalidated=True),
    ],
)
def test_unreachable(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad value"),
        FileNotFoundError("no such file"),
        IntegrityError("INSERT", None, Exception("duplicate key")),
        wrapped(asyncpg.exceptions.UndefinedColumnError("column does not exist")),
    ],
)
def test_not_an_outage(error: BaseException) -> None:
    assert not database_unavailable(error)
