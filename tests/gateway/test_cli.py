"""`gaap org|service|member|key|admin-token|audit` against a real database, through the same service layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gaap.cli.main import app
from tests.gateway.conftest import closed_port_url

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAAP_DATA_DIR", str(tmp_path))
    # No service is running: changes are pushed to a closed port and stay queued for the gateway worker.
    monkeypatch.setenv("GATEWAY_NOTIFY_URL", closed_port_url())
    for name in ("GATEWAY_DATABASE_URL", "NOTIFY_DATABASE_URL", "PAY_DATABASE_URL", "IDENTITY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(app, ["migrate", "gateway"])
    assert result.exit_code == 0, result.output
    return tmp_path


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tenant_and_key_lifecycle(env: Path) -> None:
    org = json.loads(invoke("org", "create", "Department for Tests", "--json"))
    service = json.loads(invoke("service", "create", org["id"], "Renew a licence", "--json"))
    assert service["restricted"] is True

    refused = runner.invoke(app, ["key", "create", service["id"], "live", "--type", "normal"])
    assert refused.exit_code == 1
    assert "trial mode" in refused.output

    team = json.loads(invoke("key", "create", service["id"], "team key", "--type", "team", "--json"))
    assert team["key"].startswith("team_key-" + service["id"] + "-")
    pay = json.loads(invoke("key", "create", service["id"], "pay", "--api", "pay", "--type", "test", "--json"))
    assert pay["key"].startswith("api_test_")

    listing = invoke("key", "list", service["id"])
    assert team["id"] in listing and "active" in listing
    assert team["key"][-36:] not in listing, "a key's secret is never shown again"

    invoke("key", "revoke", service["id"], team["id"])
    assert "revoked" in invoke("key", "list", service["id"])

    invoke("service", "set", service["id"], "--live", "--rate-limit", "1200")
    assert "(live)" in invoke("service", "list")
    invoke("member", "add", service["id"], "dev@example.gov.uk", "--role", "admin", "--role", "send_messages")
    assert invoke("admin-token", "create", "ops").strip().startswith("gaap_admin_")
    assert invoke("audit", "verify").startswith("ok: ")
    pending = runner.invoke(app, ["service", "set", service["id"], "--rate-limit", "1300"])
    assert "the gateway worker will retry" in pending.stderr


def test_errors_are_clear_and_exit_non_zero(env: Path) -> None:
    result = runner.invoke(app, ["service", "create", "00000000-0000-0000-0000-000000000000", "x"])
    assert result.exit_code == 1
    assert "No such organisation" in result.output
    invoke("org", "create", "Twice")
    again = runner.invoke(app, ["org", "create", "Twice"])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_principal_keys_derive_per_audience() -> None:
    master = invoke("principal-key", "new", "k9").strip()
    assert master.startswith("k9:")
    notify = invoke("principal-key", "derive", "--audience", "notify", "--master", master).strip()
    pay = invoke("principal-key", "derive", "--audience", "pay", "--master", master).strip()
    assert notify.startswith("k9:")
    assert notify != pay
    assert runner.invoke(app, ["principal-key", "derive", "--audience", "pay", "--master", "nonsense"]).exit_code == 1
