"""notify spec §16.5: emails and texts still `sending` or `pending` 72 hours after creation become
`temporary-failure`; nothing else moves. On PostgreSQL (the rig) and on SQLite, with a test clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gaap.db import Database, utcnow
from gaap.db.migrate import upgrade
from services.notify.delivery.providers import CLOCK
from services.notify.delivery.timeouts import SENDING_TIMEOUT, time_out_waiting, timeout_job
from services.notify.notifications.models import Notification
from services.notify.tenancy.models import NotifyService
from tests.notify.conftest import ROOT, NotifyRig

HOUR = timedelta(hours=1)


async def add(
    db: Database, service_id: uuid.UUID, created_at: datetime, notification_type: str, status: str
) -> uuid.UUID:
    ident = uuid.uuid4()
    async with db.write_session() as session:
        session.add(
            Notification(
                id=ident,
                service_id=service_id,
                key_type="normal",
                notification_type=notification_type,
                to="someone@example.com" if notification_type == "email" else "07700900123",
                status=status,
                body="Hello",
                created_at=created_at,
                next_attempt_at=created_at,
            )
        )
    return ident


async def statuses(db: Database, idents: dict[str, uuid.UUID]) -> dict[str, str]:
    async with db.read_session() as session:
        return {name: (await session.get(Notification, ident)).status for name, ident in idents.items()}  # type: ignore[union-attr]


async def check_timeout(db: Database, service_id: uuid.UUID) -> None:
    now = utcnow()
    over, under = now - SENDING_TIMEOUT - HOUR, now - SENDING_TIMEOUT + HOUR
    rows = {
        "email sending, 73 h": await add(db, service_id, over, "email", "sending"),
        "text pending, 73 h": await add(db, service_id, over, "sms", "pending"),
        "text sending, 73 h": await add(db, service_id, over, "sms", "sending"),
        "email sending, 71 h": await add(db, service_id, under, "email", "sending"),
        "email delivered, 73 h": await add(db, service_id, over, "email", "delivered"),
        "email created, 73 h": await add(db, service_id, over, "email", "created"),
        "letter sending, 73 h": await add(db, service_id, over, "letter", "sending"),
    }
    assert await time_out_waiting(db, now=now, batch=2) == 3  # in batches of two
    assert await statuses(db, rows) == {
        "email sending, 73 h": "temporary-failure",
        "text pending, 73 h": "temporary-failure",
        "text sending, 73 h": "temporary-failure",
        "email sending, 71 h": "sending",
        "email delivered, 73 h": "delivered",
        "email created, 73 h": "created",
        "letter sending, 73 h": "sending",
    }
    await timeout_job({"db": db, CLOCK: lambda: now})  # the hourly job: nothing left to move
    assert await time_out_waiting(db, now=now) == 0
    later = now + 2 * HOUR  # an hour on, the 71-hour email has waited too long as well
    await timeout_job({"db": db, CLOCK: lambda: later})
    assert (await statuses(db, {"e": rows["email sending, 71 h"]}))["e"] == "temporary-failure"


async def test_the_timeout_on_postgresql(notify_rig: NotifyRig, db: Database) -> None:
    await check_timeout(db, notify_rig.service_id)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[tuple[Database, uuid.UUID]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    await upgrade(ROOT / "services" / "notify" / "migrations", url)
    database = Database(url, pool_size=2)
    service_id = uuid.uuid4()
    async with database.write_session() as session:
        session.add(
            NotifyService(id=service_id, name="SQLite", email_sender_local_part="sqlite", permissions=["email"])
        )
    yield database, service_id
    await database.dispose()


async def test_the_timeout_on_sqlite(sqlite_db: tuple[Database, uuid.UUID]) -> None:
    await check_timeout(*sqlite_db)
