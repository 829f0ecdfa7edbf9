"""`deploy/envfile.py`: the secret inventory comes from the settings classes, and the files it writes start every
role in production mode (apart from the values only an operator can supply)."""

from __future__ import annotations

import pytest

from deploy.envfile import compose_env, generate, kubernetes_envs, secret_names, secret_variables, settings_classes
from deploy.render import Doc, containers
from gaap.cli.components import COMPONENTS, SERVICES, load_settings
from gaap.settings import ComponentSettings, ConfigurationError, derive_audience_key, parse_keyring
from tests.deploy.conftest import REPO


def parse_env(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def test_inventory_follows_the_settings_classes() -> None:
    names = secret_names()
    for component, cls in settings_classes().items():
        if issubclass(cls, ComponentSettings):
            prefix = cls.model_config["env_prefix"]
            assert {prefix + field.upper() for field in cls.secret_fields} <= names, component
            assert f"{prefix}DATABASE_URL" in names
    # SecretStr fields that are not refused when empty are secrets all the same.
    assert {"NOTIFY_SMTP_URL", "NOTIFY_EMAIL_RECEIPT_CREDENTIALS", "GAAP_REDIS_URL"} <= names
    assert "NOTIFY_EMAIL_DOMAIN" not in names


def test_compose_env_starts_every_role_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    env = parse_env(compose_env("https://gaap.example.org", kid="k1"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The one value nobody can generate: identity's live Notify key, made once the gateway runs.
    monkeypatch.setenv("IDENTITY_NOTIFY_API_KEY", "identity-key")
    master = parse_keyring(env["GATEWAY_PRINCIPAL_KEYS"])
    for name in COMPONENTS:
        settings = load_settings(name)
        assert settings.platform.env.value == "production"
        settings.refuse_default_secrets()
        assert settings.database_url.endswith(f"@postgres:5432/{name}")
        assert env["POSTGRES_PASSWORD"] in settings.database_url
        if name in SERVICES:
            ring = parse_keyring(settings.principal_keys.get_secret_value())
            assert ring == [(kid, derive_audience_key(key, name)) for kid, key in master]


def test_without_the_notify_key_identity_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in parse_env(compose_env("https://gaap.example.org")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("IDENTITY_NOTIFY_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="IDENTITY_NOTIFY_API_KEY"):
        load_settings("identity").refuse_default_secrets()


def test_every_run_makes_new_secrets() -> None:
    first, second = generate(), generate()
    made = [name for name, value in first.items() if value is not None]
    assert made and all(first[name] != second[name] for name in made)


def referenced_secrets(docs: list[Doc]) -> set[str]:
    return {
        source["secretRef"]["name"]
        for container in containers(docs)
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }


def test_kubernetes_files_fill_the_secrets_the_manifests_name(rendered: dict[str, list[Doc]]) -> None:
    files = kubernetes_envs(kid="k1")
    referenced = referenced_secrets(rendered["base"])
    assert set(files) == {f"{name}.env" for name in referenced}
    by_component = {v.name: v.component for v in secret_variables()}
    for filename, text in files.items():
        component = filename.removeprefix("gaap-").removesuffix(".env")
        for name in parse_env(text):
            assert by_component[name] in {component, "gaap"}, f"{name} leaks into {filename}"
        # URLs name the operator's own servers: left for the operator, never guessed.
        assert f"# {component.upper()}_DATABASE_URL=" in text


def test_operating_docs_name_every_secret(rendered: dict[str, list[Doc]]) -> None:
    operating = (REPO / "docs" / "operating.md").read_text(encoding="utf-8")
    missing = sorted(name for name in referenced_secrets(rendered["base"]) if f"`{name}`" not in operating)
    assert not missing, f"docs/operating.md does not name {missing}"
