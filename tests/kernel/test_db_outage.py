"""`gaap.db.outage.database_unavailable`: which errors mean "the database could not be reached" (a 503) and which
are bugs or refusals (left alone). End to end, tests/reliability/test_outages.py takes PostgreSQL away."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Iterator

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
        ConnectionRefusedError(111, "Connection refused"),  # raised by no database code: an HTTP call's, say
        TimeoutError(),
        FileNotFoundError("no such file"),
        IntegrityError("INSERT", None, Exception("duplicate key")),
        wrapped(asyncpg.exceptions.UndefinedColumnError("column does not exist")),
    ],
)
def test_not_an_outage(error: BaseException) -> None:
    assert not database_unavailable(error)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers, as a hung database server does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _raised(awaitable: Awaitable[object]) -> Exception:
    try:
        await awaitable
    except Exception as exc:
        return exc
    raise AssertionError("expected an error")


async def test_the_drivers_own_connection_errors_are_outages(closed_port: int, silent_port: int) -> None:
    refused = await _raised(asyncpg.connect(host="127.0.0.1", port=closed_port, user="u", timeout=5))
    assert isinstance(refused, ConnectionError) and database_unavailable(refused)
    hung = await _raised(asyncpg.connect(host="127.0.0.1", port=silent_port, user="u", timeout=0.2))
    assert isinstance(hung, TimeoutError) and database_unavailable(hung)


async def test_the_same_errors_from_other_code_are_not(closed_port: int) -> None:
    refused = await _raised(asyncio.open_connection("127.0.0.1", closed_port))
    assert isinstance(refused, ConnectionError) and not database_unavailable(refused)
    timed_out = await _raised(asyncio.wait_for(asyncio.sleep(1), 0.01))
    assert isinstance(timed_out, TimeoutError) and not database_unavailable(timed_out)
