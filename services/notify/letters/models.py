"""The `letter_pdfs` table: the database letter store's rows (see `storage`, which alone reads and writes them)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from sqlalchemy import Dialect, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gaap.crypto import registered_box
from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.notify.models import Base


class EncryptedPdf(TypeDecorator[bytes]):
    """A binary file sealed with the component's keyring, for personal data kept as files.

    `SecretBox` seals text, so the bytes are base64-encoded first and the sealed token is stored as bytes: about
    1.8 times the file's size. Rotation works as for `EncryptedText`: the token names the key that sealed it.
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, keyring: str) -> None:
        super().__init__()
        self.keyring = keyring

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        sealed = registered_box(self.keyring).encrypt(base64.b64encode(value).decode("ascii"))
        return sealed.encode("ascii")

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return base64.b64decode(registered_box(self.keyring).decrypt(bytes(value).decode("ascii")))


class LetterPdf(Base):
    """One letter's PDF, removed with its notification (retention purge) by `ON DELETE CASCADE`."""

    __tablename__ = "letter_pdfs"

    notification_id: Mapped[uuid.UUID] = mapped_column(
        GUID(), ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(EncryptedPdf("notify"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
