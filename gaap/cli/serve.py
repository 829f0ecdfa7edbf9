"""Running processes: `gaap serve ROLE`, `gaap migrate`."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from typing import Any

import typer
import uvicorn

from gaap.app import configure_process_logging
from gaap.cli.components import COMPONENTS, component, load_settings, migrations_dir, resolve
from gaap.db.migrate import upgrade

#: The role `gaap serve` runs, for the worker processes uvicorn spawns (`--workers` above 1): they import the app
#: afresh and inherit the environment, not this process's logging configuration.
SERVE_ROLE_ENV = "GAAP_SERVE_ROLE"


def role_app() -> Any:
    """The app factory each serving process calls: logging set up as the role's settings say (JSON in production),
    then the role's own factory. A spawned worker would otherwise log with structlog's development defaults."""
    role = os.environ[SERVE_ROLE_ENV]
    configure_process_logging(load_settings(role), role)
    return resolve(component(role).app)()


def serve(
    role: str = typer.Argument(..., help="gateway, notify, pay or identity"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(0, help="Port (default: 8000 for the gateway, 8001-8003 for services)"),
    workers: int = typer.Option(1, help="uvicorn worker processes (scale with more pods or processes instead)"),
) -> None:
    """Serve one role's HTTP API."""
    component(role)  # an unknown role fails here, before anything starts
    settings = load_settings(role)
    configure_process_logging(settings, role)
    default_ports = {"gateway": 8000, "notify": 8001, "pay": 8002, "identity": 8003}
    os.environ[SERVE_ROLE_ENV] = role
    uvicorn.run(
        f"{__name__}:role_app",
        factory=True,
        host=host,
        port=port or default_ports[role],
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        # Longer than the gateway pool's idle time, so the gateway never reuses a connection we just closed.
        timeout_keep_alive=75 if role != "gateway" else 5,
        backlog=4096,
    )


def migrate(
    components: list[str] = typer.Argument(None, help="Components to migrate (default: all)"),
) -> None:
    """Bring each component's database to its latest migration. Run before serving."""
    names = components or list(COMPONENTS)
    for name in names:
        settings = load_settings(name)
        directory = migrations_dir(name)
        if not any((directory / "versions").glob("*.py")):
            typer.echo(f"{name}: no migrations yet")
            continue
        asyncio.run(upgrade(directory, settings.database_url))
        typer.echo(f"{name}: migrated")


def worker(
    role: str = typer.Argument(..., help="A component with background work, e.g. gateway"),
    probe_port: int | None = typer.Option(
        None, "--probe-port", min=0, max=65535, help="Serve /healthz, /readyz and /metrics on this port (0: any)"
    ),
) -> None:
    """Run one component's worker role: its job lanes and its periodic sweeps."""
    from gaap.jobs import run_worker

    info = component(role)
    if info.worker is None:
        typer.secho(f"{role} has no worker role", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    settings = load_settings(role)
    settings.refuse_default_secrets()  # as an API process does: a worker holds the same secrets
    configure_process_logging(settings, f"{role}-worker")
    spec = resolve(info.worker)(settings)
    if probe_port is not None:
        spec = dataclasses.replace(spec, probe_port=probe_port)
    run_worker(spec)
