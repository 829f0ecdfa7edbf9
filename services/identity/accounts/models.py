"""Accounts (spec §9.1): every account has an email address proven by a code, an Argon2id password hash and a
second factor, so a step-up to `Cl.Cm` always works: an authenticator app (its TOTP secret) or text messages (a
mobile number proven with a texted code). The secret and the number are encrypted at rest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedText, UTCDateTime
from services.identity.models import Base
from services.identity.settings import BOX

#: The second factors (spec §9.1): an authenticator app, or codes texted to a mobile number.
APP, SMS = "app", "sms"
#: Each account holds what its second factor needs.
FACTOR_PRESENT = (
    "(second_factor = 'app' AND totp_secret IS NOT NULL) OR (second_factor = 'sms' AND phone_number IS NOT NULL)"
)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(FACTOR_PRESENT, name="second_factor_present"),)

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    #: Lower-cased; the address the user proved with an emailed code.
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    second_factor: Mapped[str] = mapped_column(String(8), nullable=False, default=APP, server_default=APP)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText(BOX), nullable=True)
    #: The time step of the last TOTP code accepted: a step is never accepted twice.
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: E.164 (`+447700900123`), proven with a texted code; only when the second factor is `sms`.
    phone_number: Mapped[str | None] = mapped_column(EncryptedText(BOX), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
