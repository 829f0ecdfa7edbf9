"""Applying the gateway's service documents to identity's client records. Idempotent and ordered, like pay's
accounts: the same document twice changes nothing, and a document older than the records held is ignored. Every
client is checked before anything is written, so a refused document leaves the service's clients untouched."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import Conflict, NotFound
from services.identity.clients.models import Client
from services.identity.clients.schemas import (
    ClientRecord,
    ClientState,
    NewClientSecret,
    ServiceDocument,
    ServiceState,
)
from services.identity.clients.secret import SECRET_METHODS, ClientSecrets
from services.identity.clients.validation import (
    InvalidClient,
    check_id_token_algorithm,
    check_token_auth_method,
    check_url,
    public_jwks,
    sector_of,
)
from services.identity.events import record as record_event
from services.identity.oidc.vtr import parse_vtr


def _values(record: ClientRecord, *, development: bool) -> dict[str, object]:
    for uri in record.redirect_urls:
        check_url(record, "RedirectUrls", uri, development=development)
    for uri in record.post_logout_redirect_urls:
        check_url(record, "PostLogoutRedirectUrls", uri, development=development)
    if record.back_channel_logout_uri:
        check_url(record, "BackChannelLogoutUri", record.back_channel_logout_uri, development=development, public=True)
    uses_secret = check_token_auth_method(record)
    jwks, jwks_url = None, None
    if record.public_key_source == "STATIC":
        # A client-secret client needs no key (it may register one, for signed request objects).
        if not uses_secret or record.public_key not in (None, ""):
            jwks = public_jwks(record)
    elif not record.jwks_url:
        raise InvalidClient(f"client {record.client_id}: JwksUrl is required when PublicKeySource is JWKS")
    else:
        jwks_url = check_url(record, "JwksUrl", record.jwks_url, development=development, public=True)
    if record.default_vtr is not None and parse_vtr(record.default_vtr) is None:
        raise InvalidClient(f"client {record.client_id}: DefaultVtr is not a valid vtr")
    if "openid" not in record.scopes:
        raise InvalidClient(f"client {record.client_id}: Scopes must include openid")
    values: dict[str, object] = {
        "name": record.client_name,
        "redirect_uris": list(record.redirect_urls),
        "post_logout_redirect_uris": list(record.post_logout_redirect_urls),
        "backchannel_logout_uri": record.back_channel_logout_uri,
        "scopes": sorted(set(record.scopes)),
        "claims": list(record.claims),
        "levels_of_confidence": sorted(set(record.client_locs)),
        "identity_verification_supported": record.identity_verification_supported,
        "id_token_signing_alg": check_id_token_algorithm(record),
        "token_auth_method": record.token_auth_method,
        "public_jwks": jwks,
        "jwks_url": jwks_url,
        "sector": sector_of(record, development=development),
        "subject_type": record.subject_type,
        "pkce_enforced": record.pkce_enforced,
        "permit_missing_nonce": record.permit_missing_nonce,
        "max_age_enabled": record.max_age_enabled,
        "default_vtr": record.default_vtr,
        "jar_validation_required": record.jar_validation_required,
    }
    if not uses_secret:
        # A push never sets a secret (only identity makes one), but a client moved to private_key_jwt loses its
        # secret, so moving it back later needs a new one rather than reviving the old.
        values["client_secret_hash"] = None
    return values


async def apply_document(
    session: AsyncSession, service_id: uuid.UUID, doc: ServiceDocument, *, development: bool
) -> list[str]:
    """Store the document's clients; returns the ids of the clients whose record changed (for cache invalidation)."""
    ids = [c.client_id for c in doc.settings.clients]
    if len(ids) != len(set(ids)):
        raise InvalidClient("a ClientID appears twice")
    checked = {c.client_id: (_values(c, development=development), c.is_active) for c in doc.settings.clients}
    held = {c.client_id: c for c in (await session.execute(select(Client).where(Client.client_id.in_(ids)))).scalars()}
    for client_id, row in held.items():
        if row.service_id != service_id:
            raise InvalidClient(f"client {client_id}: the ClientID belongs to another service")
    ours = list((await session.execute(select(Client).where(Client.service_id == service_id))).scalars())
    if any(c.version > doc.version for c in ours):
        return []
    changed = [c.client_id for c in ours if c.client_id not in checked]
    if changed:
        await session.execute(delete(Client).where(Client.service_id == service_id, Client.client_id.in_(changed)))
    for client_id, (values, is_active) in checked.items():
        client = held.get(client_id)
        if client is None:
            client = Client(client_id=client_id, service_id=service_id)
            session.add(client)
        for name, value in values.items():
            setattr(client, name, value)
        client.active = is_active and doc.active
        client.version = doc.version
        client.updated_at = utcnow()
        changed.append(client_id)
    await session.flush()
    return changed


async def state(session: AsyncSession, service_id: uuid.UUID) -> ServiceState:
    rows = (
        await session.execute(select(Client).where(Client.service_id == service_id).order_by(Client.client_id))
    ).scalars()
    return ServiceState(
        id=service_id,
        clients=[
            ClientState(client_id=c.client_id, active=c.active, subject_type=c.subject_type, sector=c.sector)
            for c in rows
        ],
    )


async def new_secret(
    session: AsyncSession, service_id: uuid.UUID, client_id: str, secrets: ClientSecrets
) -> NewClientSecret:
    """Make the client a new secret, replacing its old one, and keep only its keyed hash (spec §6). The client row
    is locked, so a push changing its method at the same moment is either before (and refused here) or after."""
    query = select(Client).where(Client.client_id == client_id, Client.service_id == service_id).with_for_update()
    client = (await session.execute(query)).scalar_one_or_none()
    if client is None:
        raise NotFound(f"The service has no client {client_id}", code="NoSuchClient")
    if client.token_auth_method not in SECRET_METHODS:
        raise Conflict(
            f"client {client_id}: its TokenAuthMethod is {client.token_auth_method}, which proves the client with "
            "its keys: it has no client secret",
            code="NoClientSecret",
        )
    replaced = client.client_secret_hash is not None
    secret, digest = secrets.new()
    client.client_secret_hash = digest
    client.updated_at = utcnow()
    record_event(session, "client_secret_generated", client_id=client_id, replaced=replaced)
    await session.flush()
    return NewClientSecret(client_id=client_id, token_auth_method=client.token_auth_method, client_secret=secret)
