"""Which environment variables are secrets, and fresh values for them.

The list comes from the settings classes themselves (`ComponentSettings.secret_fields`, every `SecretStr` field,
and the URLs that carry credentials), never from a hand-kept copy, so a secret added to a component is at once
refused inline by the manifest checks (`tests/deploy`) and generated here.

    .venv/bin/python deploy/envfile.py compose --public-url https://gaap.example.org > deploy/.env
    .venv/bin/python deploy/envfile.py kubernetes --out ./secrets     # one env file per component Secret

`compose` writes everything the single-host stack needs, including its PostgreSQL password and URLs.
`kubernetes` writes `gaap-<component>.env` for `kubectl create secret generic gaap-<component>
--from-env-file=...`; database, Redis and SMTP URLs name the operator's own servers, so they are left as
commented lines to fill in. Either way the services' principal keys are derived from the gateway's new master
key, and values nobody can generate (a Notify key only a running gateway can issue) are commented lines too.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from gaap.cli.components import COMPONENTS, SERVICES, resolve
from gaap.settings import (
    DEV_SECRET,
    ComponentSettings,
    ConfigurationError,
    PlatformSettings,
    derive_audience_key,
    format_keyring,
    parse_keyring,
)

#: Fields that are plain strings but carry a password: `postgresql+asyncpg://user:password@host/db`.
CREDENTIAL_URL_FIELDS = ("database_url", "redis_url")
PLATFORM = "gaap"
POSTGRES_USER = "gaap"
TO_SUPPLY = "(supply it: docs/operating.md, Secrets)"


@dataclass(frozen=True)
class Variable:
    """One secret environment variable: `NOTIFY_ENCRYPTION_KEYS` is field `encryption_keys` of `notify`."""

    name: str
    component: str
    field: str
    default: str


def settings_classes() -> dict[str, type[BaseSettings]]:
    """The platform's settings and each component's, by component name (`gaap` for the platform)."""
    classes: dict[str, type[BaseSettings]] = {PLATFORM: PlatformSettings}
    for name, info in COMPONENTS.items():
        classes[name] = resolve(info.settings)
    return classes


def secret_variables() -> list[Variable]:
    """Every secret environment variable, in settings order."""
    found: list[Variable] = []
    for component, cls in settings_classes().items():
        prefix = str(cls.model_config.get("env_prefix", ""))
        declared = cls.secret_fields if issubclass(cls, ComponentSettings) else ()
        for field, info in cls.model_fields.items():
            if field in declared or field in CREDENTIAL_URL_FIELDS or info.annotation is SecretStr:
                default = info.default.get_secret_value() if isinstance(info.default, SecretStr) else info.default
                found.append(Variable(prefix + field.upper(), component, field, str(default or "")))
    return found


def secret_names() -> frozenset[str]:
    return frozenset(variable.name for variable in secret_variables())


def _new_key(kid: str) -> tuple[str, bytes]:
    return kid, secrets.token_bytes(32)


def _is_keyring(value: str) -> bool:
    try:
        parse_keyring(value)
    except ConfigurationError:
        return False
    return True


def generate(kid: str | None = None) -> dict[str, str | None]:
    """A fresh value for every secret that can be made here; None for those the operator must supply.

    A component's copy of a platform setting (`NOTIFY_REDIS_URL` beside `GAAP_REDIS_URL`) is an optional
    override and is left out.
    """
    kid = kid or datetime.now(UTC).strftime("%Y-%m")
    master = [_new_key(kid)]
    values: dict[str, str | None] = {}
    for variable in secret_variables():
        if variable.component != PLATFORM and variable.field in PlatformSettings.model_fields:
            continue
        if variable.field == "principal_keys":
            ring = master
            if variable.component != "gateway":
                ring = [(k, derive_audience_key(key, variable.component)) for k, key in master]
            values[variable.name] = format_keyring(ring)
        elif variable.field in CREDENTIAL_URL_FIELDS:
            values[variable.name] = None
        elif _is_keyring(variable.default):
            values[variable.name] = format_keyring([_new_key(kid)])
        elif variable.default == DEV_SECRET:
            values[variable.name] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        else:
            values[variable.name] = None
    return values


def _lines(values: dict[str, str | None], component: str) -> Iterator[str]:
    """`NAME=value` for each of the component's secrets in `values`; a commented line for those left to fill."""
    for variable in secret_variables():
        if variable.component != component or variable.name not in values:
            continue
        value = values[variable.name]
        yield f"{variable.name}={value}" if value is not None else f"# {variable.name}=  {TO_SUPPLY}"


def compose_env(public_url: str, *, env: str = "production", kid: str | None = None) -> str:
    """The whole `deploy/.env` for `deploy/compose.yaml`."""
    values = generate(kid)
    password = secrets.token_urlsafe(24)
    for variable in secret_variables():
        if variable.field == "database_url":
            values[variable.name] = (
                f"postgresql+asyncpg://{POSTGRES_USER}:{password}@postgres:5432/{variable.component}"
            )
    values["GAAP_REDIS_URL"] = "redis://redis:6379/0"
    head = [
        "# Made by deploy/envfile.py: keep it out of version control (deploy/.gitignore) and readable by root only.",
        f"GAAP_ENV={env}",
        f"GAAP_PUBLIC_BASE_URL={public_url}",
        f"POSTGRES_USER={POSTGRES_USER}",
        f"POSTGRES_PASSWORD={password}",
    ]
    body = [line for component in settings_classes() for line in _lines(values, component)]
    return "\n".join([*head, *body]) + "\n"


def kubernetes_envs(kid: str | None = None) -> dict[str, str]:
    """`gaap-<component>.env` → its text: each component's Secret, for `kubectl create secret --from-env-file`.

    Platform-wide secrets (`GAAP_REDIS_URL`) go into every component's file, since each pod reads only its own.
    """
    values = generate(kid)
    return {
        f"gaap-{component}.env": "\n".join([*_lines(values, component), *_lines(values, PLATFORM)]) + "\n"
        for component in ("gateway", *SERVICES)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/envfile.py", description=(__doc__ or "").split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    compose = modes.add_parser("compose", help="print deploy/.env for compose.yaml")
    compose.add_argument("--public-url", required=True, help="GAAP_PUBLIC_BASE_URL, e.g. https://gaap.example.org")
    compose.add_argument("--env", default="production", choices=["production", "development"])
    kubernetes = modes.add_parser("kubernetes", help="write one env file per component Secret")
    kubernetes.add_argument("--out", type=Path, required=True, help="a directory only you can read")
    args = parser.parse_args(argv)
    if args.mode == "compose":
        sys.stdout.write(compose_env(args.public_url, env=args.env))
        return 0
    args.out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, text in kubernetes_envs().items():
        path = args.out / name
        path.touch(mode=0o600)
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
