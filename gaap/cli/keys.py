"""`gaap principal-key new|derive`: making and distributing principal-token keys."""

from __future__ import annotations

import base64
import os
import secrets

import typer

from gaap.settings import ConfigurationError, derive_audience_key, format_keyring, parse_keyring

app = typer.Typer(help="Keys that sign the gateway's principal tokens", no_args_is_help=True)


@app.command("new")
def new(kid: str = typer.Argument(..., help="A short id for the key, e.g. the date: 2026-11")) -> None:
    """Print a new random master key entry (`kid:base64`) to put first in GATEWAY_PRINCIPAL_KEYS."""
    typer.echo(f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}")


@app.command("derive")
def derive(
    audience: str = typer.Option(..., help="The service: notify, pay or identity"),
    master: str = typer.Option("", help="Master keyring (default: $GATEWAY_PRINCIPAL_KEYS)"),
) -> None:
    """Print the keyring a service needs (its <SERVICE>_PRINCIPAL_KEYS) from the gateway's master keyring."""
    raw = master or os.environ.get("GATEWAY_PRINCIPAL_KEYS", "")
    try:
        ring = parse_keyring(raw)
    except ConfigurationError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    typer.echo(format_keyring([(kid, derive_audience_key(key, audience)) for kid, key in ring]))
