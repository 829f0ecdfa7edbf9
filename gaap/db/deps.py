"""FastAPI dependencies: one session per request, owned by the dependency (ARCHITECTURE rule 1).

`scope="function"` makes the dependency finish (commit or roll back) when the endpoint returns, before the
response is sent, so an acknowledged write is always a committed one. An endpoint that raises rolls back. So does
one whose error was answered before it reached the dependency (`gaap.app.family_route` renders errors inside the
route): it calls `mark_failed`, and the session rolls back instead of committing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


FAILED = "gaap_request_failed"


def mark_failed(request: Request) -> None:
    """The request is being answered with an error: its write session must not commit."""
    request.scope[FAILED] = True


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).write_session() as session:
        yield session
        if request.scope.get(FAILED):
            await session.rollback()


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).read_session() as session:
        yield session


#: A session whose transaction commits when the endpoint returns and rolls back if it raises.
DbSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
#: A read-only session (always rolled back); on SQLite it never takes the write lock.
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
