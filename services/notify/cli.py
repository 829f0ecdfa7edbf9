"""`gaap notify ...`: notify's commands. `send-bulk` is a client of the public API (through the SDK, `gaap_client`),
not of the database: it works against any deployment a key is valid for, and goes through the same checks, limits
and audit as any other caller.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from gaap_client import APIError, NotifyClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

notify_app = typer.Typer(help="Notify: email, text messages and letters", no_args_is_help=True)
#: Job statuses after which nothing more will happen (notify spec §18.6).
DONE = {"finished", "cancelled", "sending limits exceeded", "error"}


@notify_app.command("send-bulk")
def send_bulk(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A CSV file, headers first"),
    template: str = typer.Option(..., "--template", help="The template's id"),
    key: str = typer.Option(..., "--key", envvar="GAAP_NOTIFY_KEY", help="A Notify API key (or GAAP_NOTIFY_KEY)"),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help="The platform's public URL"),
    name: str | None = typer.Option(None, "--name", help="The job's name (default: the file's name)"),
    poll: float = typer.Option(1.0, "--poll", min=0.05, help="Seconds between progress checks"),
) -> None:
    """Send a template to every row of FILE as one job, then follow it with a progress bar until it is done."""
    console = Console(stderr=True)
    with NotifyClient(base_url, key) as client:
        try:
            job = client.send_bulk(name or file.name, template, csv=file.read_bytes())
        except APIError as exc:
            for message in exc.messages:  # every bad row, numbered as in a spreadsheet
                console.print(message, style="red", highlight=False, markup=False)
            raise typer.Exit(1) from None
        total = job["notification_count"]
        console.print(f"Job {job['id']}: {total} notifications accepted ({job['job_status']})", highlight=False)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("sending", total=total)
            while True:
                progress = client.get_job(job["id"])
                # Handed over or failed: everything no longer waiting to be sent.
                bar.update(task, completed=total - progress["statuses"].get("created", 0))
                if progress["job_status"] in DONE:
                    break
                time.sleep(poll)
    typer.echo(f"{progress['job_status']}: " + ", ".join(f"{s} {n}" for s, n in sorted(progress["statuses"].items())))


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
