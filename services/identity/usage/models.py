"""A sign-in to a relying party: written when identity issues it an authorization code.

It holds what a service's admins may see and nothing that identifies a person: the client, the levels reached,
whether identity proving happened, and the first characters of the `sub` the client received (enough for the
service to match its own records, too few to be the identifier itself).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.identity.models import Base

#: How identity proving went in a sign-in that asked for an identity level: proven in this sign-in, an identity
#: proven earlier reused, or proving that failed (the client asked for a `returnCode` instead of an error).
PROVED, REUSED, FAILED = "proved", "reused", "failed"
#: How many characters of the subject's identifier are kept.
SUBJECT_HINT_LENGTH = 8


class SignIn(Base):
    __tablename__ = "sign_ins"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    client_id: Mapped[str] = mapped_column(String(128), nullable=False)
    #: The credential level of the ID token's `vot`: `Cl` or `Cl.Cm`.
    credential: Mapped[str] = mapped_column(String(8), nullable=False)
    #: The identity level the client received (`P1`, `P2`, …); None when none was asked for, or proving failed.
    identity: Mapped[str | None] = mapped_column(String(4), nullable=True)
    #: `proved`, `reused` or `failed`; None when no identity level was asked for.
    proving: Mapped[str | None] = mapped_column(String(8), nullable=True)
    subject_hint: Mapped[str] = mapped_column(String(SUBJECT_HINT_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_sign_ins_service_id_created_at", "service_id", "created_at"),)

    @property
    def level(self) -> str:
        """The level reached, as a vector: `Cl`, `Cl.Cm`, `Cl.Cm.P2`."""
        return self.credential + (f".{self.identity}" if self.identity else "")
