"""Where letter PDFs are kept: a small store interface and its database implementation.

Everything that reads or writes a letter's PDF goes through `LetterPdfStore` (`put`, `get`, `delete`), obtained
from `letter_store(session)`. The database store keeps each PDF in `letter_pdfs` (`models.LetterPdf`), one row
per notification, inside the caller's transaction: a precompiled letter's file and its notification row commit
or roll back together, so there is never a row without its file or a file without its row, and the retention
purge removes the file with the row (`ON DELETE CASCADE`). That is simple, needs no second system, and suits
embedded mode and moderate volumes: a PDF is at most 2 MiB (notify spec §11.3).

At larger scale an S3-compatible store (the blob store of spec §12) can replace it behind the same interface,
chosen in `letter_store`: `put` uploads before the request commits (an upload whose commit then fails leaves an
orphan object, which a bucket lifecycle rule matching the retention period removes, as it removes every other
object once its letter is purged), `get` downloads, `delete` removes the object, and the bucket encrypts at
rest with its own keys (SSE-KMS).

The database store encrypts each PDF with the notify keyring, like personalisation and rendered content
(docs/notify.md): a letter's file holds the same personal data (name, address, the letter itself), and a
database dump or backup should reveal none of it. `SecretBox` seals text, so the PDF is base64-encoded first
and the sealed token is stored as bytes: about 1.8 times the PDF's size (under 4 MB for the largest letter)
and a few milliseconds of AES-GCM per file, which letters can afford.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.letters.models import LetterPdf


class LetterPdfStore(Protocol):
    """Letter PDFs by notification id. `put` replaces any earlier file, so writing the same letter twice (two
    requests drawing a templated letter at once) leaves one file and no error."""

    async def put(self, notification_id: uuid.UUID, pdf: bytes) -> None: ...

    async def get(self, notification_id: uuid.UUID) -> bytes | None: ...

    async def delete(self, notification_id: uuid.UUID) -> None: ...


class DatabaseLetterPdfStore:
    """The `letter_pdfs` table, through the caller's session: writes join its transaction and only flush.

    The notification row must be flushed before `put` (the file refers to it).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, notification_id: uuid.UUID, pdf: bytes) -> None:
        # One INSERT ... ON CONFLICT statement, so a concurrent writer of the same letter cannot make this fail.
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = utcnow()
        stmt = insert(LetterPdf).values(notification_id=notification_id, content=pdf, created_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[LetterPdf.notification_id],
            set_={"content": stmt.excluded.content, "created_at": stmt.excluded.created_at},
        )
        await self.session.execute(stmt)

    async def get(self, notification_id: uuid.UUID) -> bytes | None:
        found = await self.session.execute(
            select(LetterPdf.content).where(LetterPdf.notification_id == notification_id)
        )
        content: bytes | None = found.scalar_one_or_none()
        return content

    async def delete(self, notification_id: uuid.UUID) -> None:
        await self.session.execute(delete(LetterPdf).where(LetterPdf.notification_id == notification_id))


def letter_store(session: AsyncSession) -> LetterPdfStore:
    """The store letters use. The one place a different store (S3-compatible) would be chosen."""
    return DatabaseLetterPdfStore(session)
