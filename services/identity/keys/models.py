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
#: Key sets (spec §8): the OIDC EC set signs ID tokens (the default) and logout tokens; the OIDC RSA set signs the
#: ID tokens of clients registered with `IdTokenSigningAlgorithm: RS256`; both are published in the JWKS, where
#: relying parties pick a key by `kid`. The core identity set signs core identity JWTs and is published in the DID
#: document instead (spec §4, §7.1).
OIDC = "oidc"
OIDC_RSA = "oidc-rsa"
CORE = "core"
KEY_SETS = (OIDC, OIDC_RSA, CORE)
#: The algorithm every key of a set signs with.
SET_ALGORITHMS = {OIDC: "ES256", OIDC_RSA: "RS256", CORE: "ES256"}
#: The sets published in the OIDC JWKS.
JWKS_SETS = (OIDC, OIDC_RSA)
#: The ID token algorithms a client may register (`IdTokenSigningAlgorithm`), each with the set whose active key
#: signs it.
ID_TOKEN_SETS = {"ES256": OIDC, "RS256": OIDC_RSA}
#: The modulus of the RSA set's keys (spec §8): 3072 bits, NIST's size for use beyond 2030.
RSA_KEY_BITS = 3072


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
