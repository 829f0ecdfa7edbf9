"""Relying parties (spec §11): pushed by the gateway with the service that owns them, validated and owned here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, UTCDateTime
from services.identity.models import Base


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    claims: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    levels_of_confidence: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    identity_verification_supported: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    id_token_signing_alg: Mapped[str] = mapped_column(String(8), nullable=False, default="ES256")
    token_auth_method: Mapped[str] = mapped_column(String(32), nullable=False, default="private_key_jwt")
    #: The public keys of a `STATIC` client, as a JWKS; None for a `JWKS` client, whose keys are fetched.
    public_jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    jwks_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What pairwise subjects are computed over (spec §6.2): a host, or "public" for public subjects.
    sector: Mapped[str] = mapped_column(String(255), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(8), nullable=False)
    pkce_enforced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    permit_missing_nonce: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    max_age_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    default_vtr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The client must send its authorization requests as signed request objects (spec §5.3).
    jar_validation_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: HMAC-SHA256 (hex) of the client secret under `IDENTITY_CLIENT_SECRET_PEPPER`, for the client-secret methods;
    #: set by identity when it generates a secret, never by a push, so a push cannot overwrite it.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The gateway's version of this record; an older push never overwrites a newer one.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
