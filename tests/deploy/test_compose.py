"""`deploy/compose.yaml`: every role on one host after a one-shot migration, health from /readyz, secrets only
from the uncommitted `deploy/.env`."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest

from deploy.envfile import secret_names
from deploy.render import split_image
from gaap.cli.components import COMPONENTS, with_workers
from tests.deploy.conftest import DEPLOY, ROLES, SECRET_LOOKING

Service = dict[str, Any]


def app_services(compose: dict[str, Any]) -> dict[str, Service]:
    """The services built from the platform's image, by name."""
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def option(service: Service, flag: str) -> str:
    command = [str(part) for part in service["command"]]
    return command[command.index(flag) + 1]


def test_every_role_runs(compose: dict[str, Any]) -> None:
    commands = sorted(" ".join(str(part) for part in s["command"][:2]) for s in app_services(compose).values())
    expected = ["migrate", *(f"serve {c}" for c in COMPONENTS), *(f"worker {c}" for c in with_workers())]
    assert commands == sorted(expected)


def test_roles_start_after_the_migration(compose: dict[str, Any]) -> None:
    for name, service in app_services(compose).items():
        depends = service["depends_on"]
        if service["command"][0] == "migrate":
            assert depends["postgres"]["condition"] == "service_healthy"
            assert service["restart"] == "no"
        else:
            assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_healthchecks_ask_readyz(compose: dict[str, Any]) -> None:
    for name, service in app_services(compose).items():
        role = ROLES[service["command"][0]]
        if role == "migrate":
            continue
        port = option(service, "--port" if role == "api" else "--probe-port")
        assert f"http://127.0.0.1:{port}/readyz" in service["healthcheck"]["test"], name


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        _, tag = split_image(service["image"])
        assert re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9.-]+)?", tag), f"{name}: {service['image']} is not an exact tag"


def test_secrets_come_only_from_the_env_file(compose: dict[str, Any]) -> None:
    """App services read `.env`; any secret-looking variable set in the file itself is an interpolation of it."""
    secrets = secret_names()
    for name, service in app_services(compose).items():
        assert service["env_file"] == ".env", name
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key in secrets or SECRET_LOOKING.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), f"{name}: {key} is inline"
    assert ".env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()


def test_only_the_gateway_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {name: service["ports"] for name, service in compose["services"].items() if "ports" in service}
    assert published == {"gateway": ["127.0.0.1:8000:8000"]}


def test_containers_are_locked_down(compose: dict[str, Any]) -> None:
    for name, service in app_services(compose).items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert any(mount.startswith("/tmp") for mount in service["tmpfs"]), name


def test_settings_are_real(compose: dict[str, Any], setting_names: frozenset[str]) -> None:
    for name, service in app_services(compose).items():
        unknown = sorted(set(service.get("environment") or {}) - setting_names)
        assert not unknown, f"{name}: no settings class reads {unknown}"


def test_a_database_per_component() -> None:
    sql = (DEPLOY / "compose" / "postgres-init.sql").read_text(encoding="utf-8")
    assert sorted(re.findall(r"CREATE DATABASE (\w+);", sql)) == sorted(COMPONENTS)


@pytest.mark.skipif(shutil.which("check-jsonschema") is None, reason="check-jsonschema is not on PATH")
def test_matches_the_compose_specification() -> None:
    subprocess.run(
        ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")], check=True
    )
