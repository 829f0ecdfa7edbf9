"""The `gaap` command: one entry point for running, operating and administering the platform."""

from __future__ import annotations

import typer

from gaap.cli import serve as serve_cmds

app = typer.Typer(help="GaaP: Government as a Platform", no_args_is_help=True, add_completion=False)
app.command("serve")(serve_cmds.serve)
app.command("migrate")(serve_cmds.migrate)


def _register_component_commands() -> None:
    from gateway.cli import register

    register(app)


_register_component_commands()

if __name__ == "__main__":
    app()
