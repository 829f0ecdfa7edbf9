"""Every command the deployment files run is one the `gaap` CLI accepts, with the options they pass.

The commands are parsed by the real CLI with each command's function swapped for a recorder, so nothing runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from deploy.render import render
from gaap.cli.components import COMPONENTS, with_workers
from gaap.cli.main import app
from tests.deploy.conftest import DEPLOY, TARGETS, workloads


def deployed_commands() -> dict[str, list[str]]:
    """Each distinct command line in the Kubernetes base and in compose.yaml."""
    found = {" ".join(w.args): w.args for w in workloads(render(TARGETS["base"]))}
    compose = yaml.safe_load(Path(DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    for service in compose["services"].values():
        if service.get("build"):
            args = [str(part) for part in service["command"]]
            found[" ".join(args)] = args
    return found


COMMANDS = deployed_commands()


def parse(args: list[str]) -> tuple[str, dict[str, Any]]:
    group: Any = get_command(app)
    calls: list[tuple[str, dict[str, Any]]] = []
    for name, command in group.commands.items():
        command.callback = lambda name=name, **params: calls.append((name, params))
    group.main(args, prog_name="gaap", standalone_mode=False)
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("line", sorted(COMMANDS))
def test_the_cli_accepts_it(line: str) -> None:
    name, params = parse(COMMANDS[line])
    if name == "serve":
        assert params["role"] in COMPONENTS
        assert (params["host"], params["port"]) == ("0.0.0.0", 8000)
    elif name == "worker":
        assert params["role"] in with_workers()
        assert params["probe_port"] == 9000
    else:
        assert name == "migrate" and not params["components"]
