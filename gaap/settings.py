"""Configuration: one pydantic-settings class per component, each with its own prefix.

`PlatformSettings` (prefix `GAAP_`) holds what every process shares. Each component subclasses
`ComponentSettings` with its own prefix (`GATEWAY_`, `NOTIFY_`, `PAY_`, `IDENTITY_`). Settings are read once at
start-up; nothing on a request path builds a settings object.

Outside development a process refuses to start while any secret still has its development default, and only
development accepts `http://` origins (and then only for 127.0.0.1 and localhost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults for secrets. Refused outside development (see `refuse_default_secrets`).
DEV_SECRET = "development-only-secret-do-not-use-in-production-0000"
DEV_PRINCIPAL_KEYS = "dev:" + base64.urlsafe_b64encode(hashlib.sha256(b"gaap-dev-principal").digest()).decode()
DEV_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"gaap-dev-encryption").digest()).decode()


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or inconsistent."""


def _check_origin(name: str, url: str, env: Environment) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"} and env == Environment.development:
        return
    raise ConfigurationError(
        f"{name}={url!r}: public origins must be https (http only for 127.0.0.1/localhost in development)"
    )


class PlatformSettings(BaseSettings):
    """What every process of the platform shares (prefix `GAAP_`)."""

    model_config = SettingsConfigDict(env_prefix="GAAP_", extra="ignore")

    env: Environment = Environment.development
    public_base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("var")
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _origins(self) -> PlatformSettings:
        self.public_base_url = self.public_base_url.rstrip("/")
        _check_origin("GAAP_PUBLIC_BASE_URL", self.public_base_url, self.env)
        return self

    @property
    def is_development(self) -> bool:
        return self.env == Environment.development


class ComponentSettings(BaseSettings):
    """Settings every component has. Subclasses set `component` and their own `env_prefix`.

    `database_url` defaults to a SQLite file under the data dir, which is what embedded mode uses.
    `redis_url` defaults to the platform's.
    """

    model_config = SettingsConfigDict(extra="ignore")

    component: ClassVar[str] = ""
    #: Names of fields holding secrets, checked by `refuse_default_secrets`.
    secret_fields: ClassVar[tuple[str, ...]] = ("principal_keys",)
    #: Names of fields holding public origins (component overrides of GAAP_PUBLIC_BASE_URL), checked like it.
    origin_fields: ClassVar[tuple[str, ...]] = ()

    database_url: str = ""
    redis_url: str = ""
    db_pool_size: int = 20
    db_echo: bool = False
    #: Keys that verify the gateway's principal token: "kid:base64key[,kid:base64key]". In a service these are the
    #: keys derived for its audience (`gaap principal-key derive`); in the gateway they are the master keys.
    principal_keys: SecretStr = SecretStr(DEV_PRINCIPAL_KEYS)
    principal_ttl_seconds: int = 60

    platform: PlatformSettings = Field(default_factory=PlatformSettings, exclude=True)

    @model_validator(mode="after")
    def _defaults(self) -> ComponentSettings:
        if not self.database_url:
            data_dir = self.platform.data_dir
            self.database_url = f"sqlite+aiosqlite:///{data_dir / (self.component + '.db')}"
        if not self.redis_url:
            self.redis_url = self.platform.redis_url
        return self

    def refuse_default_secrets(self) -> None:
        """Outside development, refuse development defaults for every secret field.

        A keyring is refused if any of its entries is a development key (kid `dev`, or the development key
        bytes), so a production keyring cannot quietly carry the published development key along.
        """
        if self.platform.is_development:
            return
        defaults = {DEV_SECRET, DEV_PRINCIPAL_KEYS, DEV_ENCRYPTION_KEY}
        dev_keys = {key for _kid, key in parse_keyring(DEV_PRINCIPAL_KEYS)} | {
            base64.urlsafe_b64decode(DEV_ENCRYPTION_KEY)
        }
        bad = []
        for name in self.secret_fields:
            value: Any = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not raw or raw in defaults or _has_dev_entry(raw, dev_keys):
                bad.append(f"{self.model_config.get('env_prefix', '')}{name.upper()}")
        if bad:
            raise ConfigurationError(
                f"refusing to start in {self.platform.env.value} mode with default or empty secrets: {', '.join(bad)}"
            )

    @model_validator(mode="after")
    def _component_origins(self) -> ComponentSettings:
        for name in self.origin_fields:
            value = getattr(self, name)
            if value:
                _check_origin(f"{self.model_config.get('env_prefix', '')}{name.upper()}", value, self.platform.env)
        return self

    def public_url(self, override: str | None) -> str:
        """A public origin: the component's own override, else the platform's public base URL."""
        return (override or self.platform.public_base_url).rstrip("/")


def _has_dev_entry(raw: str, dev_keys: set[bytes]) -> bool:
    """Whether a value that looks like a keyring holds a development key."""
    if ":" not in raw:
        return False
    try:
        ring = parse_keyring(raw)
    except ConfigurationError:
        return False
    return any(kid == "dev" or key in dev_keys for kid, key in ring)


def parse_keyring(raw: str) -> list[tuple[str, bytes]]:
    """Parse "kid:base64[,kid:base64]" into [(kid, key)], newest (signing) first."""
    ring = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or not b64:
            raise ConfigurationError("a keyring entry must look like kid:base64key")
        try:
            key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except ValueError as exc:
            raise ConfigurationError(f"keyring entry {kid!r} is not base64") from exc
        if len(key) < 32:
            raise ConfigurationError(f"keyring entry {kid!r} must be at least 32 bytes")
        ring.append((kid, key))
    if not ring:
        raise ConfigurationError("a keyring needs at least one key")
    return ring


def format_keyring(ring: list[tuple[str, bytes]]) -> str:
    return ",".join(f"{kid}:{base64.urlsafe_b64encode(key).decode().rstrip('=')}" for kid, key in ring)


def derive_audience_key(master: bytes, audience: str) -> bytes:
    """The principal-token key for one audience, derived from a gateway master key.

    Each service holds only its own derived key, so a leaked service key can mint tokens for that service alone.
    """
    return hmac.new(master, b"gaap-principal/v1/" + audience.encode(), hashlib.sha256).digest()


@lru_cache
def platform_settings() -> PlatformSettings:
    return PlatformSettings()
