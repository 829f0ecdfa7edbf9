"""The service document the gateway pushes (`PUT /internal/services/{id}`). `settings` is the service's
`settings["identity"]` in the gateway, forwarded unread: its `clients` use One Login's configuration field names
(spec §11), so One Login onboarding files import unchanged. Fields One Login has and we do not use are ignored."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["P0", "P1", "P2"]
TokenAuthMethod = Literal["private_key_jwt", "client_secret_post", "client_secret_basic"]


class ClientRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    client_id: str = Field(alias="ClientID", pattern=r"^[A-Za-z0-9._~-]{1,128}$")
    client_name: str = Field(default="", alias="ClientName", max_length=255)
    redirect_urls: list[str] = Field(alias="RedirectUrls", min_length=1, max_length=20)
    post_logout_redirect_urls: list[str] = Field(default_factory=list, alias="PostLogoutRedirectUrls", max_length=20)
    back_channel_logout_uri: str | None = Field(default=None, alias="BackChannelLogoutUri")
    scopes: list[Literal["openid", "email", "phone"]] = Field(default=["openid"], alias="Scopes", min_length=1)
    claims: list[str] = Field(default_factory=list, alias="Claims", max_length=20)
    client_locs: list[Level] = Field(default=["P0"], alias="ClientLoCs", min_length=1)
    identity_verification_supported: bool = Field(default=False, alias="IdentityVerificationSupported")
    #: `ES256` or `RS256`, checked with the registration checks (`validation.check_id_token_algorithm`), so a
    #: record naming another algorithm is refused in their words.
    id_token_signing_algorithm: str = Field(default="ES256", alias="IdTokenSigningAlgorithm")
    token_auth_method: TokenAuthMethod = Field(default="private_key_jwt", alias="TokenAuthMethod")
    public_key_source: Literal["STATIC", "JWKS"] = Field(default="STATIC", alias="PublicKeySource")
    #: A PEM SubjectPublicKeyInfo, a public JWK, or a JWKS (as an object or a JSON string); optional for a
    #: client-secret client. One Login's `ClientSecret` is not read: it is a hash under One Login's key, so an
    #: imported client-secret client gets a new secret from identity (`POST .../clients/{id}/secret`).
    public_key: str | dict[str, Any] | None = Field(default=None, alias="PublicKey")
    jwks_url: str | None = Field(default=None, alias="JwksUrl")
    sector_identifier_uri: str | None = Field(default=None, alias="SectorIdentifierUri")
    subject_type: Literal["pairwise", "public"] = Field(default="pairwise", alias="SubjectType")
    pkce_enforced: bool = Field(default=False, alias="PKCEEnforced")
    permit_missing_nonce: bool = Field(default=False, alias="PermitMissingNonce")
    max_age_enabled: bool = Field(default=True, alias="MaxAgeEnabled")
    is_active: bool = Field(default=True, alias="IsActive")
    default_vtr: str | None = Field(default=None, alias="DefaultVtr", max_length=64)
    jar_validation_required: bool = Field(default=False, alias="JarValidationRequired")


class IdentityServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clients: list[ClientRecord] = Field(default_factory=list, max_length=50)


class ServiceDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=255)
    organisation_id: uuid.UUID | None = None
    active: bool
    settings: IdentityServiceSettings = Field(default_factory=IdentityServiceSettings)


class ClientState(BaseModel):
    client_id: str
    active: bool
    subject_type: str
    sector: str


class NewClientSecret(BaseModel):
    """A client secret identity has just made: shown once, never stored in the clear (spec §6)."""

    client_id: str
    token_auth_method: TokenAuthMethod
    client_secret: str


class ServiceState(BaseModel):
    """What identity holds for a service after applying a document."""

    id: uuid.UUID
    clients: list[ClientState]
