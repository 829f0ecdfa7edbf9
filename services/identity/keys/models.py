"""The OP's signing keys (spec §8). A key is `standby` (published, not signing), `active` (one per set, signing),
`retired` (published, no longer signing) or `removed`. Private keys are stored wrapped with the key-encryption key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import EncryptedText, UTCDateTime
from services.identity.models import Base
from services.identity.settings import BOX

STANDBY, ACTIVE, RETIRED, REMOVED = "standby", "active", "retired", "removed"
PUBLISHED = (STANDBY, ACTIVE, RETIRED)
#: Key sets: the OIDC EC set signs ID tokens and logout tokens; the core identity set signs core identity JWTs
#: and is published in the DID document instead of the JWKS (spec §4, §7.1).
OIDC = "oidc"
CORE = "core"
KEY_SETS = (OIDC, CORE)


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        # At most one active key per set, even when two processes start at once.
        Index(
            "uq_signing_keys_active_per_set",
            "key_set",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_set: Mapped[str] = mapped_column(String(16), nullable=False)
    alg: Mapped[str] = mapped_column(String(8), nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False)
    private_jwk: Mapped[str] = mapped_column(EncryptedText(BOX), nullable=False)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
