"""A service's OpenID Connect clients as the console changes them, and where identity stands with them.

Clients live in the gateway's tenant model, in One Login's field names (`Service.settings["identity"]["clients"]`),
and reach identity through the outbox of tenant pushes (`gateway.sync`), which identity validates and may refuse.
A change is saved the way every console form that a component must accept is (`gateway.sync.settle`): committed
with its audit event and its pushes, then the identity push is delivered *before the page answers*. If identity
refuses the document, the change is undone by a compensating change (audited as `oidc_client.revert`, pushed like
any other) and the admin sees identity's words on the form. If identity cannot be reached, the change stays: the
push is durable and the gateway worker's sweeper delivers it, and until identity has taken it the client pages say
so, from what identity last accepted and its verdict on the latest push (`identity_view`).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from gateway.audit import service as audit
from gateway.sync.service import Pusher, schedule
from gateway.sync.settle import Verdict, last_accepted, latest, settle
from gateway.tenants.models import Service

#: A refusal's words as identity gave them, cut to what the audit log keeps.
MAX_MESSAGE = 500
#: Where identity stands with one client.
CONFIRMED, WAITING, REFUSED = "confirmed", "waiting", "refused"


def new_client_id() -> str:
    """A client id as One Login issues them: random, 27 URL-safe characters, not a secret."""
    return secrets.token_urlsafe(20)


def clients_of(service: Service) -> list[dict[str, Any]]:
    identity = (service.settings or {}).get("identity") or {}
    return [dict(c) for c in identity.get("clients") or [] if isinstance(c, dict)]


def find(clients: list[dict[str, Any]], client_id: str) -> dict[str, Any] | None:
    return next((c for c in clients if c.get("ClientID") == client_id), None)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a client: its settings, without the key itself (its source is enough)."""
    return {
        "name": record.get("ClientName", ""),
        "redirect_uris": record.get("RedirectUrls", []),
        "post_logout_redirect_uris": record.get("PostLogoutRedirectUrls", []),
        "back_channel_logout_uri": record.get("BackChannelLogoutUri"),
        "levels": record.get("ClientLoCs", []),
        "scopes": record.get("Scopes", []),
        "subject_type": record.get("SubjectType", "pairwise"),
        "token_auth_method": record.get("TokenAuthMethod", "private_key_jwt"),
        "id_token_signing_algorithm": record.get("IdTokenSigningAlgorithm", "ES256"),
        "key_source": record.get("PublicKeySource", "STATIC"),
        "jwks_url": record.get("JwksUrl"),
    }


async def _locked_service(session: AsyncSession, service_id: uuid.UUID) -> Service:
    """The service, locked for this read-modify-write of its settings (PostgreSQL `FOR UPDATE`; SQLite write
    sessions are `BEGIN IMMEDIATE`, which serialises them already)."""
    query = select(Service).where(Service.id == service_id).with_for_update()
    return (await session.execute(query)).scalar_one()


async def _store(
    session: AsyncSession,
    service: Service,
    clients: list[dict[str, Any]],
    *,
    actor: str,
    action: str,
    client_id: str,
    details: dict[str, Any],
) -> uuid.UUID:
    """Write the clients, the audit event and the pushes in the caller's transaction; the identity push's id."""
    settings = dict(service.settings or {})
    settings["identity"] = {**(settings.get("identity") or {}), "clients": clients}
    service.settings = settings
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=action,
        target_type="oidc_client",
        target_id=client_id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details=details,
    )
    pushes = await schedule(session, service)
    return next(p.id for p in pushes if p.component == "identity")


async def change(
    db: Database,
    pusher: Pusher,
    service_id: uuid.UUID,
    *,
    client_id: str,
    record: dict[str, Any] | None,
    actor: str,
    action: str,
) -> Verdict:
    """Register, replace (`record`) or remove (`None`) one client, push it to identity now, and undo the change if
    identity refuses it. Identity's verdict."""
    async with db.write_session() as session:
        service = await _locked_service(session, service_id)
        clients = clients_of(service)
        before = find(clients, client_id)
        if record is None:
            updated = [c for c in clients if c.get("ClientID") != client_id]
        elif before is None:
            updated = [*clients, record]
        else:
            updated = [record if c.get("ClientID") == client_id else c for c in clients]
        details = summary(record) if record is not None else {"name": (before or {}).get("ClientName", "")}
        push_id = await _store(
            session, service, updated, actor=actor, action=action, client_id=client_id, details=details
        )
    [verdict] = await settle(db, pusher, [push_id])
    if verdict.refused:
        await _revert(db, service_id, client_id, before=before, after=record, actor=actor, reason=verdict.message)
    return verdict


async def _revert(
    db: Database,
    service_id: uuid.UUID,
    client_id: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: str,
    reason: str,
) -> None:
    """Put the client back as it was, unless someone has changed it since (then theirs stands). Identity still
    holds the state before the change, so the revert's push, delivered after the response, changes nothing there."""
    async with db.write_session() as session:
        service = await _locked_service(session, service_id)
        clients = clients_of(service)
        if find(clients, client_id) != after:
            return
        if before is None:
            restored = [c for c in clients if c.get("ClientID") != client_id]
        elif after is None:
            restored = [*clients, before]
        else:
            restored = [before if c.get("ClientID") == client_id else c for c in clients]
        await _store(
            session,
            service,
            restored,
            actor=actor,
            action="oidc_client.revert",
            client_id=client_id,
            details={"reason": reason[:MAX_MESSAGE]},
        )


def _by_id(clients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(clients, key=lambda c: str(c.get("ClientID")))


@dataclass(frozen=True)
class IdentityView:
    """Where identity stands with a service's clients: the clients it holds (those of the last document it
    accepted) and its verdict on the latest push."""

    held: list[dict[str, Any]]
    latest: Verdict | None

    def state_of(self, record: dict[str, Any]) -> str:
        """`confirmed` if identity holds the client as the gateway does; else `refused` if identity refused the
        latest push, or `waiting` while that push is still to be delivered."""
        if record in self.held:
            return CONFIRMED
        return REFUSED if self.latest is not None and self.latest.refused else WAITING

    def settled(self, clients: list[dict[str, Any]]) -> bool:
        """Whether identity holds exactly these clients (none added, changed or removed since it last took any)."""
        return _by_id(clients) == _by_id(self.held)


async def identity_view(session: AsyncSession, service_id: uuid.UUID) -> IdentityView:
    accepted = await last_accepted(session, service_id, "identity")
    held = (accepted or {}).get("settings", {}).get("clients") or []
    verdict = (await latest(session, service_id, ["identity"])).get("identity")
    return IdentityView([c for c in held if isinstance(c, dict)], verdict)
