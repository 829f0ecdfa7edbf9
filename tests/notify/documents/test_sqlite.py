"""The stores of files by email and of unsubscribe requests on SQLite, the embedded mode's database: sealing and
opening a file, the retention purge, one request per email and reports that never share a request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gaap.crypto import SecretBox, register_box
from gaap.db import Database, utcnow
from gaap.db.migrate import upgrade
from gaap.settings import DEV_ENCRYPTION_KEY
from services.notify.documents import repository as documents
from services.notify.documents.models import Document
from services.notify.documents.service import address_matches, email_hash, seal, unseal
from services.notify.unsubscribe import repository as unsubscribe_repo
from services.notify.unsubscribe import service as unsubscribe
from services.notify.unsubscribe.links import LinkHolder, read_token, unsubscribe_link
from tests.notify.conftest import ROOT

KEYRING = "dev:" + DEV_ENCRYPTION_KEY


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    await upgrade(ROOT / "services" / "notify" / "migrations", url)
    register_box("notify", SecretBox(KEYRING, associated=b"gaap-notify"))
    database = Database(url, pool_size=2)
    yield database
    await database.dispose()


def document(service_id: uuid.UUID, key: bytes, data: bytes, *, expires_in: timedelta) -> Document:
    ident, now = uuid.uuid4(), utcnow()
    return Document(
        id=ident,
        service_id=service_id,
        content=seal(key, ident, data),
        mimetype="text/plain",
        filename=None,
        size=len(data),
        email_hash=email_hash(key, "ada@example.com"),
        created_at=now,
        expires_at=now + expires_in,
    )


async def test_files_are_sealed_and_purged_after_retention(db: Database) -> None:
    service_id, key = uuid.uuid4(), b"k" * 32
    live = document(service_id, key, b"hello", expires_in=timedelta(weeks=1))
    expired = document(service_id, key, b"old", expires_in=-timedelta(seconds=1))
    async with db.write_session() as session:
        session.add_all([live, expired])
    async with db.read_session() as session:
        found = await documents.get(session, service_id, live.id)
        assert found is not None and unseal(key, found) == b"hello"
        assert unseal(b"x" * 32, found) is None
        assert address_matches(key, found, "ada@example.com") and not address_matches(key, found, "bo@example.com")
        assert await documents.get(session, uuid.uuid4(), live.id) is None, "another service's link"
    assert await documents.purge_expired(db) == 1
    async with db.read_session() as session:
        assert await session.get(Document, expired.id) is None
        assert await session.get(Document, live.id) is not None


async def test_one_request_per_email_and_reports_that_never_share(db: Database) -> None:
    service_id = uuid.uuid4()
    emails = [uuid.uuid4() for _ in range(3)]

    class Sent:
        def __init__(self) -> None:
            self.service_id, self.template_id, self.template_version = service_id, uuid.uuid4(), 2
            self.client_reference, self.created_at = "ref", utcnow()

    async def click(notification_id: uuid.UUID) -> None:
        async with db.write_session() as session:
            await unsubscribe.record(session, LinkHolder(notification_id, "ada@example.com"), Sent())

    await asyncio.gather(*(click(n) for n in emails + emails))  # every link followed twice, at once

    async def report() -> object:
        async with db.write_session() as session:
            return await unsubscribe.make_report(session, service_id)

    made = [r for r in await asyncio.gather(report(), report()) if r is not None]
    assert [r.count for r in made] == [3]  # type: ignore[attr-defined]
    async with db.read_session() as session:
        requests = await unsubscribe_repo.requests_of(session, made[0].id)  # type: ignore[attr-defined]
        assert sorted(r.notification_id for r in requests) == sorted(emails)
        assert {r.email_address for r in requests} == {"ada@example.com"}
    assert await report() is None


def test_unsubscribe_tokens_name_their_email_and_nothing_else() -> None:
    ident = uuid.uuid4()
    link = unsubscribe_link("https://notify.example/", KEYRING, ident, "Ada@Example.com")
    token = link.rsplit("/", 1)[1]
    assert read_token(KEYRING, ident, token) == LinkHolder(ident, "Ada@Example.com")
    assert read_token(KEYRING, uuid.uuid4(), token) is None
    assert read_token(KEYRING, ident, token[:-2] + "AA") is None
    assert read_token("other:" + DEV_ENCRYPTION_KEY, ident, token) is None
