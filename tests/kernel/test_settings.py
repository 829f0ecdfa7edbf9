"""Configuration (ARCHITECTURE rule 8): development defaults, refusal of default secrets and of `http://` origins
outside development, and the keyrings behind principal tokens and encryption."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from gaap.settings import (
    DEV_ENCRYPTION_KEY,
    DEV_PRINCIPAL_KEYS,
    DEV_SECRET,
    ComponentSettings,
    ConfigurationError,
    Environment,
    PlatformSettings,
    derive_audience_key,
    format_keyring,
    parse_keyring,
)
from gateway.settings import GatewaySettings
from services.identity.settings import IdentitySettings
from services.notify.settings import NotifySettings
from services.pay.settings import PaySettings

PREFIXES = ("GAAP_", "GATEWAY_", "NOTIFY_", "PAY_", "IDENTITY_", "KSET_")


def real_keyring(kid: str = "k2026") -> str:
    return f"{kid}:" + base64.urlsafe_b64encode(os.urandom(32)).decode()


class KernelSettings(ComponentSettings):
    """A component as the kernel sees one: its own prefix and one secret besides the principal keys."""

    model_config = SettingsConfigDict(env_prefix="KSET_", extra="ignore")
    component: ClassVar[str] = "kset"
    secret_fields: ClassVar[tuple[str, ...]] = ("principal_keys", "signing_secret")

    signing_secret: SecretStr = SecretStr(DEV_SECRET)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment: start every test from none of the platform's variables."""
    for name in list(os.environ):
        if name.startswith(PREFIXES) and not name.startswith("GAAP_TEST_"):
            monkeypatch.delenv(name)


def production(monkeypatch: pytest.MonkeyPatch, env: str = "production") -> None:
    monkeypatch.setenv("GAAP_ENV", env)
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", "https://platform.example.gov.uk")


# Development defaults ------------------------------------------------------------------------------------------


def test_development_defaults_load() -> None:
    settings = KernelSettings()

    assert settings.platform.env == Environment.development
    assert settings.platform.is_development
    assert settings.platform.public_base_url == "http://127.0.0.1:8000"
    assert settings.database_url == f"sqlite+aiosqlite:///{Path('var') / 'kset.db'}"
    assert settings.redis_url == settings.platform.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.principal_keys.get_secret_value() == DEV_PRINCIPAL_KEYS
    assert settings.public_url(None) == "http://127.0.0.1:8000"
    assert settings.public_url("https://notify.example.gov.uk/") == "https://notify.example.gov.uk"
    settings.refuse_default_secrets()  # development accepts its own defaults


def test_component_prefix_and_platform_prefix_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GAAP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GAAP_REDIS_URL", "redis://127.0.0.1:6999/4")
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", "http://localhost:9000/")
    monkeypatch.setenv("KSET_DB_POOL_SIZE", "3")

    settings = KernelSettings()

    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'kset.db'}"
    assert settings.redis_url == "redis://127.0.0.1:6999/4"
    assert settings.db_pool_size == 3
    assert settings.platform.public_base_url == "http://localhost:9000"  # trailing slash dropped

    monkeypatch.setenv("KSET_DATABASE_URL", "postgresql+asyncpg://db.internal/kset")
    monkeypatch.setenv("KSET_REDIS_URL", "redis://cache.internal:6379/1")
    explicit = KernelSettings()
    assert explicit.database_url == "postgresql+asyncpg://db.internal/kset"
    assert explicit.redis_url == "redis://cache.internal:6379/1"


def test_gateway_development_defaults_load() -> None:
    settings = GatewaySettings()

    assert settings.database_url.endswith("gateway.db")
    settings.refuse_default_secrets()


# Default secrets outside development ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["production", "test"])
def test_default_secrets_are_refused_outside_development(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    production(monkeypatch, env)
    monkeypatch.setenv("KSET_SIGNING_SECRET", "")

    settings = KernelSettings()
    with pytest.raises(ConfigurationError) as caught:
        settings.refuse_default_secrets()

    message = str(caught.value)
    assert f"in {env} mode" in message
    assert "KSET_PRINCIPAL_KEYS" in message  # the development default
    assert "KSET_SIGNING_SECRET" in message  # empty
    assert DEV_SECRET not in message and DEV_PRINCIPAL_KEYS not in message  # names, never values


def test_real_secrets_pass_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)
    monkeypatch.setenv("KSET_PRINCIPAL_KEYS", real_keyring())
    monkeypatch.setenv("KSET_SIGNING_SECRET", base64.b64encode(os.urandom(32)).decode())

    KernelSettings().refuse_default_secrets()


def test_one_default_secret_among_real_ones_is_named_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)
    monkeypatch.setenv("KSET_PRINCIPAL_KEYS", real_keyring())

    with pytest.raises(ConfigurationError) as caught:
        KernelSettings().refuse_default_secrets()

    assert "KSET_SIGNING_SECRET" in str(caught.value)
    assert "KSET_PRINCIPAL_KEYS" not in str(caught.value)


def test_a_development_keyring_under_another_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any `dev:` principal keyring is a development one, even when its key is not the shipped default."""
    production(monkeypatch)
    monkeypatch.setenv("KSET_PRINCIPAL_KEYS", real_keyring("dev"))
    monkeypatch.setenv("KSET_SIGNING_SECRET", "a-real-secret-from-the-vault-0123456789")

    with pytest.raises(ConfigurationError, match="KSET_PRINCIPAL_KEYS"):
        KernelSettings().refuse_default_secrets()


def test_gateway_names_its_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)

    with pytest.raises(ConfigurationError) as caught:
        GatewaySettings().refuse_default_secrets()

    for name in (
        "GATEWAY_PRINCIPAL_KEYS",
        "GATEWAY_KEY_HASH_PEPPER",
        "GATEWAY_PAY_KEY_CHECKSUM_SECRET",
        "GATEWAY_CSRF_SECRET",
    ):
        assert name in str(caught.value)


def gateway_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PRINCIPAL_KEYS", real_keyring())
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEYS", real_keyring("enc1"))
    for name in ("GATEWAY_KEY_HASH_PEPPER", "GATEWAY_PAY_KEY_CHECKSUM_SECRET", "GATEWAY_CSRF_SECRET"):
        monkeypatch.setenv(name, base64.b64encode(os.urandom(32)).decode())


def test_gateway_with_real_secrets_starts_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)
    gateway_real_secrets(monkeypatch)

    settings = GatewaySettings()
    settings.refuse_default_secrets()
    assert settings.platform.env == Environment.production


def test_gateway_refuses_its_default_encryption_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)
    gateway_real_secrets(monkeypatch)
    monkeypatch.delenv("GATEWAY_KEY_ENCRYPTION_KEYS")

    with pytest.raises(ConfigurationError, match="GATEWAY_KEY_ENCRYPTION_KEYS"):
        GatewaySettings().refuse_default_secrets()


# Public origins ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://localhost"])
def test_development_accepts_http_on_loopback(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", url)

    assert PlatformSettings().public_base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://platform.example.gov.uk",
        "http://10.0.0.5:8000",
        "http://0.0.0.0:8000",
        "ftp://localhost",
        "localhost:8000",
    ],
)
def test_development_refuses_other_http_origins(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", url)

    with pytest.raises(ConfigurationError, match="GAAP_PUBLIC_BASE_URL"):
        PlatformSettings()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://platform.example.gov.uk"])
def test_production_refuses_every_http_origin(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("GAAP_ENV", "production")
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", url)

    with pytest.raises(ConfigurationError, match="GAAP_PUBLIC_BASE_URL"):
        PlatformSettings()
    with pytest.raises(ConfigurationError, match="GAAP_PUBLIC_BASE_URL"):
        GatewaySettings()  # a component's settings build the platform's, so no process starts


def test_production_defaults_refuse_to_load_without_a_public_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default public origin is a development one, so production must name its own."""
    monkeypatch.setenv("GAAP_ENV", "production")

    with pytest.raises(ConfigurationError):
        PlatformSettings()


def test_production_accepts_https(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)

    settings = PlatformSettings()
    assert settings.public_base_url == "https://platform.example.gov.uk"
    assert not settings.is_development


def test_test_environment_refuses_http_like_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAAP_ENV", "test")
    monkeypatch.setenv("GAAP_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

    with pytest.raises(ConfigurationError):
        PlatformSettings()


@pytest.mark.parametrize(
    ("settings_class", "variable"),
    [
        (NotifySettings, "NOTIFY_PUBLIC_BASE_URL"),
        (PaySettings, "PAY_API_BASE_URL"),
        (PaySettings, "PAY_FRONTEND_BASE_URL"),
        (IdentitySettings, "IDENTITY_ISSUER"),
    ],
)
def test_component_origin_overrides_refuse_http_in_production(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[ComponentSettings], variable: str
) -> None:
    production(monkeypatch)
    monkeypatch.setenv(variable, "http://payments.example.gov.uk")

    with pytest.raises(ConfigurationError, match=variable):
        settings_class()


# Keyrings ------------------------------------------------------------------------------------------------------


def test_keyring_round_trip_keeps_order_and_bytes() -> None:
    ring = [("new", os.urandom(32)), ("old", os.urandom(48))]

    raw = format_keyring(ring)

    assert "=" not in raw  # padding dropped, so the value survives shells and env files unquoted
    assert parse_keyring(raw) == ring
    assert parse_keyring(f" {raw.replace(',', ' , ')} ,") == ring  # spaces and a trailing comma tolerated


def test_keyring_accepts_padded_standard_entries() -> None:
    key = hashlib.sha256(b"k").digest()

    assert parse_keyring("a:" + base64.urlsafe_b64encode(key).decode()) == [("a", key)]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("short:" + base64.urlsafe_b64encode(bytes(31)).decode(), "at least 32 bytes"),
        ("no-separator", "kid:base64key"),
        (":" + base64.urlsafe_b64encode(bytes(32)).decode(), "kid:base64key"),
        ("kid:", "kid:base64key"),
        ("", "at least one key"),
        (" , ", "at least one key"),
    ],
    ids=["short-key", "no-separator", "no-kid", "no-key", "empty", "only-separators"],
)
def test_bad_keyrings_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason):
        parse_keyring(raw)


def test_development_defaults_are_valid_keyrings() -> None:
    assert parse_keyring(DEV_PRINCIPAL_KEYS)[0][0] == "dev"
    assert len(parse_keyring("dev:" + DEV_ENCRYPTION_KEY)[0][1]) == 32


def test_derived_audience_keys_differ_per_audience_and_per_master() -> None:
    master, other_master = os.urandom(32), os.urandom(32)

    keys = {audience: derive_audience_key(master, audience) for audience in ("notify", "pay", "identity")}

    assert len(set(keys.values())) == 3
    assert all(len(key) == 32 for key in keys.values())
    assert derive_audience_key(master, "notify") == keys["notify"]  # deterministic
    assert derive_audience_key(other_master, "notify") != keys["notify"]
    assert master not in keys.values()
