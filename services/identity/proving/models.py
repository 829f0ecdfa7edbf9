"""The stored identity (spec §10.6): one record per account, the proven details encrypted with the key-encryption
key. Only the achieved level and the check time are plain, so reuse can be decided without decrypting."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedText, UTCDateTime
from services.identity.models import Base
from services.identity.settings import BOX


class IdentityRecord(Base):
    __tablename__ = "identity_records"

    user_id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    #: The achieved GPG 45 level (1 or 2) and the profile that gave it.
    vot: Mapped[int] = mapped_column(Integer, nullable=False)
    profile: Mapped[str] = mapped_column(String(8), nullable=False)
    #: JSON: names, birth dates, addresses, documents, evidence `txn`s and `sandbox` (see `credential.identity_of`).
    details: Mapped[str] = mapped_column(EncryptedText(BOX), nullable=False)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
