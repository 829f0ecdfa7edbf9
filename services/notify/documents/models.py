"""The `documents` table: files sent by email (notify spec §12), each sealed under its own key.

`content` is AES-256-GCM ciphertext (nonce first) under a key that exists only in the recipient's link: notify
keeps no copy of it, so neither a database dump nor notify itself can read a file without the link. The email
address a file may demand before download is kept the same way, as an HMAC under that key (`email_hash`), so it
can be checked but not read back.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.types import GUID, UTCDateTime
from services.notify.models import Base


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_expires_at", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    #: No foreign key: a file is removed by its own retention, not with the service's rows.
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mimetype: Mapped[str] = mapped_column(String(128), nullable=False)
    #: The sender's name for the file, or None (the download is then named after the document id).
    filename: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The file's size in bytes, before encryption (shown on the download page).
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: HMAC-SHA256 (hex) of the recipient's normalised address under the file's key; None when the recipient need
    #: not confirm their address.
    email_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
