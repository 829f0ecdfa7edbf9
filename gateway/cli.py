"""Tenant administration from the command line: `gaap org|service|member|key|admin-token|audit ...`.

Commands work on the gateway's database directly (like a migration), so they work before anything serves, and
go through the same service layer as the admin API: the same rules, and the same audit entries.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from gaap.errors import ApiError
from gateway.audit import service as audit
from gateway.auth.credentials import announce_invalidation
from gateway.keys import repository as key_repo
from gateway.keys import service as keys
from gateway.keys.service import KeyMaterial
from gateway.settings import GatewaySettings
from gateway.sync.service import Pusher
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants

T = TypeVar("T")
ACTOR = "cli"

org_app = typer.Typer(help="Organisations (departments)", no_args_is_help=True)
service_app = typer.Typer(help="Services of an organisation", no_args_is_help=True)
member_app = typer.Typer(help="Team members of a service", no_args_is_help=True)
key_app = typer.Typer(help="API keys", no_args_is_help=True)
admin_app = typer.Typer(help="Admin tokens for the gateway's admin API", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log", no_args_is_help=True)


def _run(work: Callable[[AsyncSession, GatewaySettings], Awaitable[T]], *, push: bool = False) -> T:
    """Run `work` in one transaction; with `push`, then tell the services about the change (the gateway worker
    delivers it later if a service is not up)."""
    settings = GatewaySettings()
    settings.register_encryption()

    async def main() -> T:
        db = Database(settings.database_url, pool_size=1)
        try:
            async with db.write_session() as session:
                result = await work(session, settings)
            if push:
                await _push(db, settings)
            return result
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


async def _push(db: Database, settings: GatewaySettings) -> None:
    pusher = Pusher.from_settings(db, settings)
    try:
        counts = await pusher.deliver_pending()
    finally:
        await pusher.close()
    if counts.get("pending"):
        typer.echo("some services could not be told yet; the gateway worker will retry", err=True)


def _echo(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, default=str))
    else:
        for name, value in data.items():
            typer.echo(f"{name}: {value}")


@org_app.command("create")
def org_create(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Create an organisation."""
    org = _run(lambda s, _: tenants.create_organisation(s, name=name, actor=ACTOR))
    _echo({"id": org.id, "name": org.name}, json_out)


@org_app.command("list")
def org_list() -> None:
    """List organisations."""
    for org in _run(lambda s, _: tenant_repo.list_organisations(s)):
        typer.echo(f"{org.id}  {org.name}")


@org_app.command("archive")
def org_archive(organisation_id: uuid.UUID) -> None:
    """Archive an organisation and its services."""
    _run(lambda s, _: tenants.archive_organisation(s, organisation_id, actor=ACTOR), push=True)
    typer.echo("archived")


@service_app.command("create")
def service_create(
    organisation_id: uuid.UUID,
    name: str,
    live: bool = typer.Option(False, "--live", help="Create it live instead of in trial mode"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create a service in an organisation (trial mode unless --live)."""
    service = _run(
        lambda s, _: tenants.create_service(
            s, organisation_id=organisation_id, name=name, restricted=not live, actor=ACTOR
        ),
        push=True,
    )
    _echo({"id": service.id, "name": service.name, "restricted": service.restricted}, json_out)


@service_app.command("list")
def service_list(organisation_id: uuid.UUID | None = typer.Option(None, "--organisation")) -> None:
    """List services."""
    for svc in _run(lambda s, _: tenant_repo.list_services(s, organisation_id=organisation_id)):
        mode = "trial" if svc.restricted else "live"
        typer.echo(f"{svc.id}  {svc.name}  ({mode})")


@service_app.command("set")
def service_set(
    service_id: uuid.UUID,
    live: bool | None = typer.Option(None, "--live/--trial"),
    rate_limit: int | None = typer.Option(None, help="Notify sends per minute per key type"),
    pay_rate_tier: str | None = typer.Option(None, help="default, elevated or low"),
) -> None:
    """Change a service's settings."""
    _run(
        lambda s, _: tenants.update_service(
            s,
            service_id,
            actor=ACTOR,
            restricted=None if live is None else not live,
            rate_limit=rate_limit,
            pay_rate_tier=pay_rate_tier,
        ),
        push=True,
    )
    typer.echo("updated")


@service_app.command("archive")
def service_archive(service_id: uuid.UUID) -> None:
    """Archive a service: its keys stop working."""
    _run(lambda s, _: tenants.archive_service(s, service_id, actor=ACTOR), push=True)
    typer.echo("archived")


@member_app.command("add")
def member_add(
    service_id: uuid.UUID,
    email: str,
    role: list[str] = typer.Option([], "--role", help="Repeat for several roles"),
) -> None:
    """Add a team member."""
    member = _run(lambda s, _: tenants.add_member(s, service_id, email=email, roles=role, actor=ACTOR), push=True)
    typer.echo(f"{member.id}  {member.email}  {','.join(member.roles)}")


@key_app.command("create")
def key_create(
    service_id: uuid.UUID,
    name: str,
    api: str = typer.Option("notify", help="notify or pay"),
    key_type: str = typer.Option("test", "--type", help="notify: normal, team, test; pay: live, test"),
    scope: list[str] = typer.Option([], "--scope", help="Extra scopes, e.g. manage_templates"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create an API key. The key is printed once and cannot be shown again."""

    async def work(session: AsyncSession, settings: GatewaySettings) -> tuple[Any, str]:
        return await keys.create_key(
            session,
            KeyMaterial.from_settings(settings),
            service_id=service_id,
            api=api,
            name=name,
            key_type=key_type,
            scopes=scope,
            actor=ACTOR,
        )

    key, full = _run(work)
    _echo({"id": key.id, "api": key.api, "type": key.key_type, "key": full}, json_out)


@key_app.command("list")
def key_list(service_id: uuid.UUID) -> None:
    """List a service's keys (never their secrets)."""
    for key in _run(lambda s, _: key_repo.keys_of_service(s, service_id)):
        state = "revoked" if key.revoked else "active"
        typer.echo(f"{key.id}  {key.api}  {key.key_type}  {key.name}  {state}")


@key_app.command("revoke")
def key_revoke(service_id: uuid.UUID, key_id: uuid.UUID) -> None:
    """Revoke a key."""

    async def work(session: AsyncSession, settings: GatewaySettings) -> None:
        await keys.revoke_key(session, service_id, key_id, actor=ACTOR)
        await session.commit()
        from gaap.redis import create_redis

        redis = create_redis(settings.redis_url)
        try:
            await announce_invalidation(redis)
        finally:
            await redis.aclose()

    _run(work)
    typer.echo("revoked")


@admin_app.command("create")
def admin_create(name: str) -> None:
    """Create an admin token for the admin API. Printed once."""

    async def work(session: AsyncSession, settings: GatewaySettings) -> str:
        _token, secret = await keys.create_admin_token(
            session, KeyMaterial.from_settings(settings), name=name, actor=ACTOR
        )
        return secret

    typer.echo(_run(work))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain end to end."""
    report = _run(lambda s, _: audit.verify(s))
    if report.ok:
        typer.echo(f"ok: {report.events} events, chain intact")
        return
    typer.secho(f"BROKEN at event {report.first_bad_seq}: {report.reason}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(org_app, name="org")
    app.add_typer(service_app, name="service")
    app.add_typer(member_app, name="member")
    app.add_typer(key_app, name="key")
    app.add_typer(admin_app, name="admin-token")
    app.add_typer(audit_app, name="audit")
