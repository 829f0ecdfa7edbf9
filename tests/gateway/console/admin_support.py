"""Helpers for the console's organisation, settings and team tests: a platform operator's identity account that
other test modules can also create, the audit log and the tenant pushes as the gateway recorded them (and a dead
component's pusher, and the sweeper's later delivery), and the console's own Notify key (what sends team
invitations)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.principal import PrincipalSigner
from gaap.settings import parse_keyring
from gateway.audit import service as audit
from gateway.console import client_records
from gateway.console.clients import ClientForm
from gateway.keys import repository as key_repo
from gateway.keys.service import KeyMaterial
from gateway.seed import _full_notify_key
from gateway.sync.models import PENDING, TenantPush
from gateway.sync.service import Pusher
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import Service, TeamMember
from services.identity.accounts import totp
from services.identity.accounts.models import User
from tests.gateway.conftest import MASTER, closed_port_url
from tests.gateway.console.conftest import OPERATOR, ConsoleRig
from tests.identity.conftest import PASSWORD
from tests.identity.support import Person
from tests.notify.conftest import manage


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _on(db_url: str, work: Any) -> Any:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            return await work(session)
    finally:
        await db.dispose()


@contextmanager
def operator(rig: ConsoleRig) -> Iterator[Person]:
    """The platform operator's identity account, with a new authenticator secret. Another module may make the same
    account (`rig.person(OPERATOR)`): one made here is renamed away afterwards, so that still works."""
    secret = totp.new_secret()

    async def upsert(session: Any) -> bool:
        user = await session.scalar(select(User).where(User.email == OPERATOR))
        if user is None:
            session.add(User(email=OPERATOR, password_hash=rig.password_hash, totp_secret=secret))
            return True
        user.totp_secret, user.totp_last_counter, user.password_hash = secret, None, rig.password_hash
        return False

    made = run(_on(rig.identity_db, upsert))
    try:
        yield Person(OPERATOR, PASSWORD, secret)
    finally:
        if made:
            retired = f"retired-{uuid.uuid4().hex[:8]}@platform.gaap.test"
            run(
                _on(
                    rig.identity_db,
                    lambda s: s.execute(update(User).where(User.email == OPERATOR).values(email=retired)),
                )
            )


def audit_events(rig: ConsoleRig, action: str, **filters: Any) -> list[tuple[str, dict[str, Any]]]:
    """(actor, details) of each event with this action, oldest first."""

    async def load(session: Any) -> list[tuple[str, dict[str, Any]]]:
        events = await audit.search(session, action=action, **filters)
        return [(e.actor, e.details) for e in sorted(events, key=lambda e: e.seq)]

    result: list[tuple[str, dict[str, Any]]] = run(_on(rig.gateway_db, load))
    return result


def service_named(rig: ConsoleRig, name: str) -> Service | None:
    async def load(session: Any) -> Service | None:
        found: Service | None = await session.scalar(select(Service).where(Service.name == name))
        return found

    result: Service | None = run(_on(rig.gateway_db, load))
    return result


def service(rig: ConsoleRig, service_id: uuid.UUID) -> Service:
    async def load(session: Any) -> Service:
        found = await tenant_repo.get_service(session, service_id)
        assert found is not None
        return found

    result: Service = run(_on(rig.gateway_db, load))
    return result


def members(rig: ConsoleRig, service_id: uuid.UUID) -> dict[str, list[str]]:
    """The service's active members' roles, by email."""

    async def load(session: Any) -> dict[str, list[str]]:
        return {m.email: list(m.roles) for m in await tenant_repo.list_members(session, service_id)}

    result: dict[str, list[str]] = run(_on(rig.gateway_db, load))
    return result


def member_id(rig: ConsoleRig, service_id: uuid.UUID, email: str) -> uuid.UUID:
    async def load(session: Any) -> uuid.UUID:
        found = await tenant_repo.active_member(session, service_id, email)
        assert found is not None
        return found.id

    result: uuid.UUID = run(_on(rig.gateway_db, load))
    return result


def pushes(rig: ConsoleRig, service_id: uuid.UUID, component: str) -> list[tuple[str, str | None]]:
    """(status, last_error) of the service's pushes to `component`, newest first."""

    async def load(session: Any) -> list[tuple[str, str | None]]:
        query = (
            select(TenantPush.status, TenantPush.last_error)
            .where(TenantPush.service_id == service_id, TenantPush.component == component)
            .order_by(TenantPush.version.desc())
        )
        return [(s, e) for s, e in (await session.execute(query)).all()]

    result: list[tuple[str, str | None]] = run(_on(rig.gateway_db, load))
    return result


def dead_pusher(db: Database, component: str) -> Pusher:
    """A pusher whose `component` listens on a closed port, as when that component is down."""
    return Pusher(db, {component: closed_port_url()}, PrincipalSigner(parse_keyring(MASTER)))


def register_while_identity_is_down(gateway_db: str, service_id: uuid.UUID, form: ClientForm) -> str:
    """Register the form's client through `client_records.change` with identity on a closed port, as the console
    does: the change is kept, pending; its client id."""
    client_id = client_records.new_client_id()

    async def work() -> None:
        db = Database(gateway_db, pool_size=2)
        pusher = dead_pusher(db, "identity")
        try:
            verdict = await client_records.change(
                db,
                pusher,
                service_id,
                client_id=client_id,
                record=form.record(client_id),
                actor="test",
                action="oidc_client.create",
            )
            assert verdict.pending
        finally:
            await pusher.close()
            await db.dispose()

    asyncio.run(work())
    return client_id


def sweep(rig: ConsoleRig, service_id: uuid.UUID) -> dict[str, int]:
    """What the gateway worker's sweeper does once a failed push's retry is due: deliver the service's pending
    pushes to the real components. A count per resulting status."""

    async def work() -> dict[str, int]:
        db = Database(rig.gateway_db, pool_size=2)
        pusher = Pusher.from_settings(db, rig.settings)
        try:
            async with db.write_session() as session:
                due = (TenantPush.service_id == service_id, TenantPush.status == PENDING)
                await session.execute(update(TenantPush).where(*due).values(next_attempt_at=utcnow()))
            return await pusher.deliver_pending(service_id)
        finally:
            await pusher.close()
            await db.dispose()

    result: dict[str, int] = run(work())
    return result


def new_service(rig: ConsoleRig, admin_email: str, **values: Any) -> uuid.UUID:
    """A new service of the demo organisation with `admin_email` as its admin (pushed after the first change)."""

    async def make(session: Any) -> uuid.UUID:
        demo = await tenant_repo.get_service(session, rig.demo_service_id)
        assert demo is not None
        made = await tenants.create_service(
            session,
            organisation_id=demo.organisation_id,
            name=f"Service {uuid.uuid4().hex[:8]}",
            actor="test",
            **values,
        )
        session.add(TeamMember(id=uuid.uuid4(), service_id=made.id, email=admin_email, roles=["admin"]))
        return made.id

    return uuid.UUID(str(run(_on(rig.gateway_db, make))))


def console_notify_key(rig: ConsoleRig) -> str:
    """The platform's "GaaP console" service's live Notify key (made by the seed step)."""

    async def load(session: Any) -> str:
        key = await key_repo.unrevoked_key_named(session, rig.console_service_id, "notify", "console live key")
        assert key is not None
        return _full_notify_key(KeyMaterial.from_settings(rig.settings), key)

    result: str = run(_on(rig.gateway_db, load))
    return result


def enable_invitations(rig: ConsoleRig) -> str:
    """Give the console its Notify key, as `gaap up` does (`GATEWAY_NOTIFY_API_KEY`, the gateway's address); the
    key, for reading the invitations back from notify."""
    key = console_notify_key(rig)
    rig.settings.notify_api_key = SecretStr(key)
    rig.settings.notify_base_url = rig.url
    return key


def sent_email(rig: ConsoleRig, key: str, reference: str) -> dict[str, Any]:
    """The console's notification with this reference, as notify's API shows it."""
    with manage(rig.url, key) as api:
        found = api.get("/v2/notifications", params={"reference": reference})
    assert found.status_code == 200, found.text
    notifications = found.json()["notifications"]
    assert len(notifications) == 1, notifications
    body: dict[str, Any] = notifications[0]
    return body
