"""Identity settings (prefix `IDENTITY_`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from gaap.settings import ComponentSettings


class IdentitySettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")
    component: ClassVar[str] = "identity"
    origin_fields: ClassVar[tuple[str, ...]] = ("issuer",)

    #: The OIDC issuer: an origin with a trailing slash; defaults to the platform's public base URL.
    issuer: str = ""

    @property
    def issuer_url(self) -> str:
        return self.public_url(self.issuer) + "/"
