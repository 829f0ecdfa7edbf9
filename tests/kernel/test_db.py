"""The database kernel on both databases: column types, the two kinds of session, SQLite's locking, and the
FastAPI dependencies that own each request's transaction (ARCHITECTURE rule 1)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Integer, String, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import Message, Receive, Scope, Send

import gaap.db
from gaap.app import Component, build_app
from gaap.db import Database, UTCDateTime
from gaap.db.base import new_metadata
from gaap.db.deps import DbSession, ReadSession, _write_session
from gaap.db.types import GUID
from gaap.errors import Conflict
from gaap.settings import ComponentSettings


class _Base(gaap.db.Base):
    __abstract__ = True
    metadata = new_metadata()


class Thing(_Base):
    __tablename__ = "kernel_db_things"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Counter(_Base):
    __tablename__ = "kernel_db_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


@pytest.fixture(scope="session", name="postgres_url")
def postgres_url_fixture(make_postgres_database: object) -> str:
    return make_postgres_database("kdb")  # type: ignore[operator]


@pytest.fixture(params=["sqlite", "postgresql"], name="db_url")
def db_url_fixture(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """One test per database. A sync fixture: the PostgreSQL factory runs its own event loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/kernel.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(name="db")
async def db_fixture(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=5)
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


async def names(db: Database) -> list[str]:
    """What a fresh connection sees as committed."""
    async with db.read_session() as session:
        return list((await session.scalars(select(Thing.name).order_by(Thing.name))).all())


# Column types -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 30, 0, 123_456, tzinfo=ZoneInfo("Europe/London")),  # BST, +01:00
        datetime(2026, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),  # crosses into the next year in UTC
    ],
    ids=["utc", "london-summer", "minus-five"],
)
async def test_utc_datetime_round_trips_the_same_instant_in_utc(db: Database, moment: datetime) -> None:
    async with db.write_session() as session:
        thing = Thing(name="t", at=moment)
        session.add(thing)
    async with db.read_session() as session:
        stored = await session.scalar(select(Thing.at).where(Thing.id == thing.id))

    assert stored == moment
    assert stored is not None and stored.tzinfo == UTC
    assert stored.utcoffset() == timedelta(0)
    assert stored.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)


async def test_utc_datetime_filters_and_orders_by_instant(db: Database) -> None:
    base = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    async with db.write_session() as session:
        session.add_all(
            [
                Thing(name="early", at=base - timedelta(minutes=1)),
                Thing(name="late", at=(base + timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Tokyo"))),
            ]
        )
    async with db.read_session() as session:
        after = (await session.scalars(select(Thing.name).where(Thing.at > base))).all()
        ordered = (await session.scalars(select(Thing.name).order_by(Thing.at.desc()))).all()

    assert after == ["late"]
    assert ordered == ["late", "early"]


async def test_utc_datetime_refuses_a_naive_datetime(db: Database) -> None:
    async def write_naive() -> None:
        async with db.write_session() as session:
            session.add(Thing(name="naive", at=datetime(2026, 1, 1, 12, 0)))
            await session.flush()

    with pytest.raises(StatementError) as caught:
        await write_naive()

    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)
    assert await names(db) == []


async def test_utc_datetime_keeps_null(db: Database) -> None:
    async with db.write_session() as session:
        thing = Thing(name="none", at=None)
        session.add(thing)
    async with db.read_session() as session:
        assert await session.scalar(select(Thing.at).where(Thing.id == thing.id)) is None


async def test_guid_round_trips_and_filters(db: Database) -> None:
    ident = uuid.uuid4()
    async with db.write_session() as session:
        session.add(Thing(id=ident, name="guid"))
    async with db.read_session() as session:
        by_uuid = await session.scalar(select(Thing.id).where(Thing.id == ident))
        by_text = await session.scalar(select(Thing.name).where(Thing.id == str(ident)))
        by_other = await session.scalar(select(Thing.name).where(Thing.id == uuid.uuid4()))

    assert isinstance(by_uuid, uuid.UUID)
    assert by_uuid == ident
    assert by_text == "guid"  # a string form binds as the same UUID
    assert by_other is None


# Sessions -----------------------------------------------------------------------------------------------------


async def test_a_pooled_connection_that_died_while_idle_is_replaced_at_checkout(postgres_url: str) -> None:
    db, admin = Database(postgres_url, pool_size=1), Database(postgres_url, pool_size=1)
    try:
        async with db.read_session() as session:
            backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with admin.read_session() as session:  # the pool's one connection is idle in it: end it from outside
            await session.execute(text(f"SELECT pg_terminate_backend({int(backend)})"))
        async with db.read_session() as session:  # checked with one round trip, found dead, replaced
            again = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != backend
    finally:
        await db.dispose()
        await admin.dispose()


async def test_write_session_commits_on_success(db: Database) -> None:
    async with db.write_session() as session:
        session.add(Thing(name="kept"))

    assert await names(db) == ["kept"]
    other = Database(db.url)  # another engine: nothing shared with the writer's pool
    try:
        assert await names(other) == ["kept"]
    finally:
        await other.dispose()


async def test_write_session_rolls_back_on_error(db: Database) -> None:
    class Boom(Exception):
        pass

    async def fail_half_way() -> None:
        async with db.write_session() as session:
            session.add(Thing(name="lost"))
            await session.flush()
            await session.execute(update(Thing).values(name="renamed"))
            raise Boom

    with pytest.raises(Boom):
        await fail_half_way()

    assert await names(db) == []


async def test_write_session_rolls_back_when_cancelled(db: Database) -> None:
    flushed = asyncio.Event()

    async def writer() -> None:
        async with db.write_session() as session:
            session.add(Thing(name="cancelled"))
            await session.flush()
            flushed.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await flushed.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await names(db) == []
    async with db.write_session() as session:  # and the lock (SQLite) or connection (PostgreSQL) came back
        session.add(Thing(name="after"))
    assert await names(db) == ["after"]


async def test_read_session_never_commits(db: Database) -> None:
    async with db.read_session() as session:
        session.add(Thing(name="orm"))
        await session.flush()
        await session.execute(
            text("INSERT INTO kernel_db_things (id, name) VALUES (:id, 'raw')"), {"id": str(uuid.uuid4())}
        )
        assert sorted((await session.scalars(select(Thing.name))).all()) == ["orm", "raw"]  # visible inside

    assert await names(db) == []


# SQLite specifics ---------------------------------------------------------------------------------------------


@pytest.fixture(name="sqlite_db")
async def sqlite_db_fixture(tmp_path: object) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/locking.db", pool_size=5)
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


def sqlite_path(db: Database) -> str:
    return db.url.split("///", 1)[1]


@pytest.mark.parametrize("kind", ["write", "read"])
async def test_sqlite_connections_get_wal_busy_timeout_and_foreign_keys(sqlite_db: Database, kind: str) -> None:
    session_factory = sqlite_db.write_session if kind == "write" else sqlite_db.read_session
    async with session_factory() as session:
        pragma = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }

    assert pragma == {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1, "synchronous": 1}


async def test_sqlite_enforces_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/fk.db")
    try:
        async with db.write_session() as session:
            await session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            await session.execute(
                text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))")
            )
        with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
            async with db.write_session() as session:
                await session.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 42)"))
    finally:
        await db.dispose()


async def test_sqlite_concurrent_read_modify_write_loses_no_update(sqlite_db: Database) -> None:
    """SQLite ignores FOR UPDATE; BEGIN IMMEDIATE makes SELECT-then-UPDATE a critical section across processes'
    worth of engines (each task has its own Database, so its own connections)."""
    async with sqlite_db.write_session() as session:
        session.add(Counter(id=1, value=0))
    tasks, rounds = 8, 25

    async def incrementer() -> None:
        db = Database(sqlite_db.url, pool_size=1)
        try:
            for _ in range(rounds):
                async with db.write_session() as session:
                    current = await session.scalar(select(Counter.value).where(Counter.id == 1))
                    await asyncio.sleep(0)  # let the others run between the read and the write
                    await session.execute(update(Counter).where(Counter.id == 1).values(value=current + 1))
        finally:
            await db.dispose()

    await asyncio.gather(*(incrementer() for _ in range(tasks)))

    async with sqlite_db.read_session() as session:
        assert await session.scalar(select(Counter.value).where(Counter.id == 1)) == tasks * rounds


def try_to_take_write_lock(path: str) -> str:
    """From a plain sqlite3 connection that will not wait: 'taken' or the error SQLite gives."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return "taken"
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        conn.close()


async def test_sqlite_write_session_holds_the_lock_from_begin(sqlite_db: Database) -> None:
    path = sqlite_path(sqlite_db)
    async with sqlite_db.write_session() as session:
        await session.execute(select(1))  # only a read, yet BEGIN IMMEDIATE already took the write lock
        assert await asyncio.to_thread(try_to_take_write_lock, path) == "database is locked"
    assert await asyncio.to_thread(try_to_take_write_lock, path) == "taken"


async def test_sqlite_read_session_does_not_take_the_write_lock(sqlite_db: Database) -> None:
    path = sqlite_path(sqlite_db)
    async with sqlite_db.write_session() as session:
        session.add(Thing(name="committed"))

    async with sqlite_db.read_session() as session:
        assert (await session.scalars(select(Thing.name))).all() == ["committed"]
        assert await asyncio.to_thread(try_to_take_write_lock, path) == "taken"


async def test_sqlite_read_session_runs_while_another_connection_writes(sqlite_db: Database) -> None:
    other = Database(sqlite_db.url, pool_size=1)
    try:
        async with sqlite_db.write_session() as session:
            session.add(Thing(name="committed"))
        async with other.write_session() as writer:
            writer.add(Thing(name="uncommitted"))
            await writer.flush()  # this connection holds the write lock and a pending row

            async def read() -> list[str]:
                async with sqlite_db.read_session() as session:
                    return list((await session.scalars(select(Thing.name))).all())

            # Far below busy_timeout (10 s): a reader that queued on the lock would time out here.
            assert await asyncio.wait_for(read(), timeout=2) == ["committed"]
        assert await names(sqlite_db) == ["committed", "uncommitted"]
    finally:
        await other.dispose()


# FastAPI dependencies -----------------------------------------------------------------------------------------


class KernelDbSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="KDB_", extra="ignore")
    component: ClassVar[str] = "kdb"


#: FastAPI's default scope ends the dependency after the response is sent: the control for the probe below.
RequestScopedSession = Annotated[AsyncSession, Depends(_write_session)]

router = APIRouter()


@router.post("/things/{name}", status_code=201)
async def create_thing(name: str, session: DbSession) -> dict[str, str]:
    session.add(Thing(name=name))
    await session.flush()
    return {"name": name}


@router.post("/conflicting/{name}")
async def create_then_conflict(name: str, session: DbSession) -> dict[str, str]:
    session.add(Thing(name=name))
    await session.flush()
    raise Conflict("That thing already exists", code="ThingExists")


@router.post("/read-only/{name}")
async def write_in_read_session(name: str, session: ReadSession) -> dict[str, int]:
    session.add(Thing(name=name))
    await session.flush()
    return {"seen": len((await session.scalars(select(Thing))).all())}


@router.post("/late/{name}")
async def create_thing_late(name: str, session: RequestScopedSession) -> dict[str, str]:
    session.add(Thing(name=name))
    await session.flush()
    return {"name": name}


class CommitProbe:
    """Wraps the app like a server would, and looks at the database with its own connection at the moment the
    response starts: whatever it sees then is what a client that got the response can rely on."""

    def __init__(self, app: object, db: Database) -> None:
        self.app = app
        self.db = db
        self.seen_at_response_start: list[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def probing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen_at_response_start = await names(self.db)
            await send(message)

        await self.app(scope, receive, probing_send)  # type: ignore[operator]


@pytest.fixture(name="client_and_probe")
async def client_and_probe_fixture(
    db: Database, redis_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, CommitProbe]]:
    settings = KernelDbSettings(database_url=db.url, redis_url=redis_url)
    app = build_app(Component(name="kdb", settings=settings, routers=[router]))
    probe = CommitProbe(app, db)
    transport = httpx.ASGITransport(app=probe)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://kdb") as client,
    ):
        yield client, probe


async def test_endpoint_write_is_committed_before_the_response_starts(
    db: Database, client_and_probe: tuple[httpx.AsyncClient, CommitProbe]
) -> None:
    client, probe = client_and_probe

    response = await client.post("/things/durable")

    assert response.status_code == 201
    assert probe.seen_at_response_start == ["durable"]
    assert await names(db) == ["durable"]


async def test_the_probe_sees_a_commit_that_comes_after_the_response(
    db: Database, client_and_probe: tuple[httpx.AsyncClient, CommitProbe]
) -> None:
    """Control: FastAPI's default dependency scope commits only after the response is sent, and the probe sees it."""
    client, probe = client_and_probe

    response = await client.post("/late/eventually")

    assert response.status_code == 200
    assert probe.seen_at_response_start == []
    assert await names(db) == ["eventually"]


async def test_endpoint_error_after_flush_leaves_nothing_behind(
    db: Database, client_and_probe: tuple[httpx.AsyncClient, CommitProbe]
) -> None:
    client, probe = client_and_probe

    response = await client.post("/conflicting/ghost")

    assert response.status_code == 409
    assert response.json()["error"] == "ThingExists"
    assert probe.seen_at_response_start == []
    assert await names(db) == []

    assert (await client.post("/things/next")).status_code == 201  # the connection went back clean
    assert await names(db) == ["next"]


async def test_read_session_dependency_never_commits(
    db: Database, client_and_probe: tuple[httpx.AsyncClient, CommitProbe]
) -> None:
    client, _probe = client_and_probe

    response = await client.post("/read-only/phantom")

    assert response.status_code == 200
    assert response.json() == {"seen": 1}  # visible inside its own transaction
    assert await names(db) == []
