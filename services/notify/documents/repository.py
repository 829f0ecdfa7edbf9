"""Every query on `documents`: one file for the download pages, and the retention purge (notify spec §12, §16.6)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.logging import get_logger
from services.notify.documents.models import Document

log = get_logger("notify.documents")

#: Files deleted per transaction (each up to 2 MiB, so a batch stays well inside one transaction's means).
PURGE_BATCH = 200


async def get(session: AsyncSession, service_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
    document = await session.get(Document, document_id)
    if document is None or document.service_id != service_id:
        return None
    return document


async def purge_expired(db: Database, now: datetime | None = None, *, batch: int = PURGE_BATCH) -> int:
    """Delete every file past its retention period, a batch per transaction; returns how many went.

    The download pages already refuse an expired file; this removes the ciphertext itself.
    """
    now = now or utcnow()
    deleted = 0
    while True:
        async with db.write_session() as session:
            chosen = select(Document.id).where(Document.expires_at <= now).order_by(Document.expires_at).limit(batch)
            ids = list((await session.execute(chosen.with_for_update(skip_locked=True))).scalars())
            if ids:
                await session.execute(
                    delete(Document).where(Document.id.in_(ids)).execution_options(synchronize_session=False)
                )
        deleted += len(ids)
        if len(ids) < batch:
            log.info("notify.documents.purged", deleted=deleted)
            return deleted


async def purge_job(ctx: dict[str, Any]) -> None:
    """The worker's hourly Cron: files are kept for whole weeks, so an hour's lateness is immaterial."""
    await purge_expired(ctx["db"])
