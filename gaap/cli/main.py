"""The `gaap` command: one entry point for running, operating and administering the platform."""

from __future__ import annotations

from pathlib import Path

import typer

from gaap import logging as gaap_logging
from gaap.cli import keys as key_cmds
from gaap.cli import serve as serve_cmds

app = typer.Typer(help="GaaP: Government as a Platform", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """GaaP: Government as a Platform."""
    # Administrative commands print their results on stdout; their logs (warnings only) go to stderr. Roles
    # (`serve`, `worker`, `up`) configure their own logging.
    gaap_logging.configure("cli", level="WARNING", json=False)


app.command("serve")(serve_cmds.serve)
app.command("migrate")(serve_cmds.migrate)
app.command("worker")(serve_cmds.worker)
app.add_typer(key_cmds.app, name="principal-key")


@app.command("up")
def up(
    port: int = typer.Option(8000, help="The gateway's public port"),
    data_dir: Path = typer.Option(Path("var"), help="Where SQLite databases, secrets, mail and demo.json live"),
    host: str = typer.Option("127.0.0.1", help="Address the gateway listens on"),
    with_example: bool = typer.Option(
        False, "--with-example", help="Also run the example departmental service (report a problem) on port 8400"
    ),
) -> None:
    """Start the whole platform on embedded defaults (Valkey, SQLite, SMTP sink, fake SMS provider)."""
    from gaap.embedded.up import up as run_up

    raise typer.Exit(run_up(port=port, data_dir=data_dir, host=host, with_example=with_example))


def _register_component_commands() -> None:
    from gateway.cli import register
    from services.notify.cli import register as register_notify

    register(app)
    register_notify(app)


_register_component_commands()

if __name__ == "__main__":
    app()
