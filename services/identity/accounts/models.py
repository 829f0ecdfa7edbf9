"""Accounts (spec §9.1): every account has an email address proven by a code, an Argon2id password hash and a
second factor, so a step-up to `Cl.Cm` always works. The TOTP secret is encrypted at rest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedText, UTCDateTime
from services.identity.models import Base
from services.identity.settings import BOX


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    #: Lower-cased; the address the user proved with an emailed code.
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    totp_secret: Mapped[str] = mapped_column(EncryptedText(BOX), nullable=False)
    #: The time step of the last TOTP code accepted: a step is never accepted twice.
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
