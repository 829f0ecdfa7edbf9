"""A service's OpenID Connect clients in the console: list, register, see, edit and remove them.

The form speaks the admin's terms (redirect URIs, how the client authenticates for tokens and its key, how identity
signs its ID tokens, the levels it may ask for as `vtr` values, pairwise or public `sub`, logout URIs); the record
it makes is One Login's (`RedirectUrls`, `TokenAuthMethod`, `IdTokenSigningAlgorithm`, `ClientLoCs`, ...), kept in
the service's settings with whatever fields the form does not manage (an imported onboarding file's `Claims`, the
console's own `PKCEEnforced`). A client-secret client's secret is made by identity and shown once
(`client_secrets.py`); the gateway never holds it. The console checks only what it needs to build the record;
identity checks the rest when the change is pushed to it before the page answers (`client_records.change`): a
refused change is undone and identity's words shown in the error summary; one identity has not taken yet (it could
not be reached) is kept and delivered later, and the pages say which clients identity has not confirmed, or refused.
Every page needs the `admin` role; every change is audited with the admin as actor.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import ReadSession
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.console import client_records as records
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.texts import (
    CLIENT_AUTH_METHODS,
    CLIENT_FORM_ERRORS,
    CLIENT_ID_TOKEN_ALGORITHMS,
    CLIENT_KEY_SOURCES,
    CLIENT_LEVELS,
    CLIENT_SCOPES,
    CLIENT_SUBJECT_TYPES,
)
from gateway.sync.deps import DeliverPushes

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/identity/clients", route_class=ConsoleRoute, include_in_schema=False)
ROLE = "admin"
#: The token endpoint method that proves the client with its key; the others send a secret identity makes.
PRIVATE_KEY_JWT = "private_key_jwt"
#: One Login's default ID token algorithm, and identity's.
ES256 = "ES256"
#: Where identity's refusals name a field (One Login's names), the form's field to point the admin at.
REFUSED_FIELDS = (
    ("TokenAuthMethod", "token_auth_method"),
    ("IdTokenSigningAlgorithm", "id_token_signing_algorithm"),
    ("PostLogoutRedirectUrls", "post_logout_uris"),
    ("RedirectUrls", "redirect_uris"),
    ("BackChannelLogoutUri", "backchannel_uri"),
    ("SectorIdentifierUri", "sector_uri"),
    ("JwksUrl", "jwks_url"),
    ("PublicKey", "public_key"),
    ("private key", "public_key"),
    ("JWK", "public_key"),
    ("ClientName", "name"),
)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass
class ClientForm:
    """The client form's values, as typed (so a refused form comes back as the admin left it)."""

    name: str = ""
    redirect_uris: str = ""
    post_logout_uris: str = ""
    backchannel_uri: str = ""
    scopes: list[str] = field(default_factory=lambda: ["email"])
    levels: list[str] = field(default_factory=lambda: ["Cl.Cm"])
    token_auth_method: str = PRIVATE_KEY_JWT
    id_token_signing_algorithm: str = ES256
    key_source: str = ""
    public_key: str = ""
    jwks_url: str = ""
    subject_type: str = "pairwise"
    sector_uri: str = ""
    #: `JarValidationRequired`: every authorization request must be a signed request object.
    require_jar: bool = False

    @classmethod
    def posted(cls, form: FormData) -> ClientForm:
        def text(name: str) -> str:
            return str(form.get(name) or "")

        method, algorithm = text("token_auth_method"), text("id_token_signing_algorithm")
        return cls(
            name=" ".join(text("name").split()),
            redirect_uris=text("redirect_uris"),
            post_logout_uris=text("post_logout_uris"),
            backchannel_uri=text("backchannel_uri").strip(),
            scopes=[str(s) for s in form.getlist("scopes") if s in CLIENT_SCOPES],
            levels=[str(v) for v in form.getlist("levels") if v in CLIENT_LEVELS],
            # Not sent: One Login's default; a value the form never offers: asked again.
            token_auth_method=method if method in CLIENT_AUTH_METHODS else "" if method else PRIVATE_KEY_JWT,
            id_token_signing_algorithm=(
                algorithm if algorithm in CLIENT_ID_TOKEN_ALGORITHMS else "" if algorithm else ES256
            ),
            key_source=text("key_source") if text("key_source") in CLIENT_KEY_SOURCES else "",
            public_key=text("public_key").strip(),
            jwks_url=text("jwks_url").strip(),
            subject_type=text("subject_type") if text("subject_type") in CLIENT_SUBJECT_TYPES else "",
            sector_uri=text("sector_uri").strip(),
            require_jar=text("require_jar") == "yes",
        )

    @classmethod
    def of(cls, record: dict[str, Any]) -> ClientForm:
        key = record.get("PublicKey")
        locs = set(record.get("ClientLoCs") or ["P0"])
        method = str(record.get("TokenAuthMethod") or PRIVATE_KEY_JWT)
        return cls(
            name=str(record.get("ClientName", "")),
            redirect_uris="\n".join(record.get("RedirectUrls") or []),
            post_logout_uris="\n".join(record.get("PostLogoutRedirectUrls") or []),
            backchannel_uri=str(record.get("BackChannelLogoutUri") or ""),
            scopes=[s for s in record.get("Scopes") or [] if s in CLIENT_SCOPES],
            levels=[vtr for vtr, (loc, _name) in CLIENT_LEVELS.items() if loc in locs],
            token_auth_method=method,
            id_token_signing_algorithm=str(record.get("IdTokenSigningAlgorithm") or ES256),
            # A client-secret client may have no key at all: then no source is chosen.
            key_source=str(record.get("PublicKeySource") or ("STATIC" if method == PRIVATE_KEY_JWT else "")),
            public_key=json.dumps(key, indent=2) if isinstance(key, dict) else str(key or ""),
            jwks_url=str(record.get("JwksUrl") or ""),
            subject_type=str(record.get("SubjectType", "pairwise")),
            sector_uri=str(record.get("SectorIdentifierUri") or ""),
            require_jar=record.get("JarValidationRequired") is True,
        )

    def errors(self) -> dict[str, str]:
        """What the form must have before identity is asked (identity checks the rest, in its own words). Only
        `private_key_jwt` needs a key; a client-secret client may register one (or a JWKS URL) all the same."""
        uses_key = self.token_auth_method == PRIVATE_KEY_JWT
        missing = {
            "name": not self.name or len(self.name) > 255,
            "redirect_uris": not _lines(self.redirect_uris),
            "levels": not self.levels,
            "token_auth_method": not self.token_auth_method,
            "id_token_signing_algorithm": not self.id_token_signing_algorithm,
            "key_source": uses_key and not self.key_source,
            "public_key": uses_key and self.key_source == "STATIC" and not self.public_key,
            "jwks_url": self.key_source == "JWKS" and not self.jwks_url,
            "subject_type": not self.subject_type,
        }
        return {name: CLIENT_FORM_ERRORS[name] for name, wrong in missing.items() if wrong}

    def record(self, client_id: str, kept: dict[str, Any] | None = None) -> dict[str, Any]:
        """The One Login record: the form's fields over the fields of `kept` (the client as stored) it does not
        manage."""
        locs = [CLIENT_LEVELS[vtr][0] for vtr in self.levels]
        record = {
            **(kept or {}),
            "ClientID": client_id,
            "ClientName": self.name,
            "RedirectUrls": _lines(self.redirect_uris),
            "PostLogoutRedirectUrls": _lines(self.post_logout_uris),
            "Scopes": ["openid", *self.scopes],
            "ClientLoCs": locs,
            "IdentityVerificationSupported": any(loc != "P0" for loc in locs),
            "TokenAuthMethod": self.token_auth_method,
            "IdTokenSigningAlgorithm": self.id_token_signing_algorithm,
            "SubjectType": self.subject_type,
        }
        optional = {
            "PublicKeySource": self.key_source,
            "BackChannelLogoutUri": self.backchannel_uri,
            "PublicKey": _pasted_key(self.public_key) if self.key_source == "STATIC" else "",
            "JwksUrl": self.jwks_url if self.key_source == "JWKS" else "",
            "SectorIdentifierUri": self.sector_uri if self.subject_type == "pairwise" else "",
            "JarValidationRequired": self.require_jar,
        }
        for name, value in optional.items():
            if value:
                record[name] = value
            else:
                record.pop(name, None)
        return record


def _pasted_key(text: str) -> str | dict[str, Any]:
    """A pasted JWK or JWKS as the object it is, anything else (a PEM key, or not a key) as typed, for identity
    to accept or refuse."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, dict) else text


def refused_errors(message: str) -> tuple[dict[str, str], list[str]]:
    """Identity's refusal, at the field it names if it names one (else for the summary alone)."""
    words = message.split(": ", 1)[1] if message.startswith("client ") and ": " in message else message
    for marker, field_name in REFUSED_FIELDS:
        if marker in words:
            return {field_name: words}, []
    return {}, [words or message]


async def admin_of(session: AsyncSession, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    access = await service_access(session, admin, service_id)
    access.require(ROLE)
    return access


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "services", **context}, status_code)


def _relying_party(request: Request) -> dict[str, str]:
    """What a relying party needs besides its client id: identity's issuer and discovery document."""
    issuer: str = request.app.state.console_rp.settings.identity_issuer
    return {"issuer": issuer, "discovery": issuer + ".well-known/openid-configuration"}


def _base(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/identity/clients"


def stored_client(access: ServiceAccess, client_id: str) -> dict[str, Any]:
    record = records.find(records.clients_of(access.service), client_id)
    if record is None:
        raise PageError(status_code=404)
    return record


def _form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    values: ClientForm,
    *,
    client_id: str | None = None,
    errors: dict[str, str] | None = None,
    refused: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "client_id": client_id,
        "values": values,
        "errors": errors or {},
        "refused": refused or [],
        "has_errors": bool(errors or refused),
        "levels": CLIENT_LEVELS,
        "auth_methods": CLIENT_AUTH_METHODS,
        "id_token_algorithms": CLIENT_ID_TOKEN_ALGORITHMS,
        "key_sources": CLIENT_KEY_SOURCES,
        "subject_types": CLIENT_SUBJECT_TYPES,
        "scopes": CLIENT_SCOPES,
    }
    return render(request, "console/client_form.html", context, status_code)


async def _save(
    request: Request, admin: Admin, access: ServiceAccess, client_id: str, kept: dict[str, Any] | None
) -> Response:
    """Check the posted form, then register or replace the client; back to the form with identity's words if it
    refused, since then nothing was kept. A change identity has not taken yet is kept, and its page says so."""
    values = ClientForm.posted(await request.form())
    shown_id = client_id if kept else None
    errors = values.errors()
    if errors:
        return _form(request, admin, access, values, client_id=shown_id, errors=errors, status_code=400)
    verdict = await records.change(
        request.app.state.db,
        request.app.state.pusher,
        access.service.id,
        client_id=client_id,
        record=values.record(client_id, kept),
        actor=admin.actor,
        action="oidc_client.update" if kept else "oidc_client.create",
    )
    if verdict.refused:
        field_errors, refused = refused_errors(verdict.message)
        return _form(
            request, admin, access, values, client_id=shown_id, errors=field_errors, refused=refused, status_code=400
        )
    done = "saved" if kept else "registered"
    return RedirectResponse(f"{_base(access.service.id)}/{client_id}?{done}=1", status_code=303)


@router.get("", response_class=HTMLResponse)
async def clients_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The service's clients, what relying parties need to find identity, and where identity stands with each."""
    access = await admin_of(session, admin, service_id)
    clients = records.clients_of(access.service)
    view = await records.identity_view(session, service_id)
    refused = not view.settled(clients) and view.latest is not None and view.latest.refused
    context = {
        "admin": admin,
        "access": access,
        "rows": [{**client, "state": view.state_of(client)} for client in clients],
        "levels": {loc: vtr for vtr, (loc, _name) in CLIENT_LEVELS.items()},
        "relying_party": _relying_party(request),
        "waiting": not view.settled(clients) and not refused,
        "refused": view.latest.message if refused and view.latest is not None else "",
        "removed": request.query_params.get("removed", ""),
    }
    return render(request, "console/clients.html", context)


@router.get("/register", response_class=HTMLResponse)
async def register_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The form for a new client."""
    access = await admin_of(session, admin, service_id)
    return _form(request, admin, access, ClientForm())


@router.post("/register", dependencies=[DeliverPushes])
async def register(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession, _: CsrfProtected
) -> Response:
    """Register the client with a new client id, once identity accepts it."""
    access = await admin_of(session, admin, service_id)
    return await _save(request, admin, access, records.new_client_id(), None)


@router.get("/{client_id}", response_class=HTMLResponse)
async def client_page(
    request: Request, service_id: uuid.UUID, client_id: str, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """One client: its settings, what its relying party configures (client id, issuer, discovery URL), and whether
    identity holds it as shown."""
    access = await admin_of(session, admin, service_id)
    context = await client_context(request, session, admin, access, stored_client(access, client_id))
    return render(request, "console/client.html", context)


async def client_context(
    request: Request, session: AsyncSession, admin: Admin, access: ServiceAccess, record: dict[str, Any]
) -> dict[str, Any]:
    """What the client's page shows (also with a refused secret generation, `client_secrets.py`)."""
    key = record.get("PublicKey")
    view = await records.identity_view(session, access.service.id)
    method = record.get("TokenAuthMethod") or PRIVATE_KEY_JWT
    return {
        "admin": admin,
        "access": access,
        "client": record,
        "state": view.state_of(record),
        "refused": view.latest.message if view.latest is not None and view.latest.refused else "",
        "public_key": json.dumps(key, indent=2) if isinstance(key, dict) else str(key or ""),
        "level_names": [vtr for vtr, (loc, _name) in CLIENT_LEVELS.items() if loc in (record.get("ClientLoCs") or [])],
        "relying_party": _relying_party(request),
        "registered": request.query_params.get("registered") == "1",
        "saved": request.query_params.get("saved") == "1",
        "subject_types": CLIENT_SUBJECT_TYPES,
        "key_sources": CLIENT_KEY_SOURCES,
        "auth_method": method,
        "id_token_algorithm": record.get("IdTokenSigningAlgorithm") or ES256,
        "uses_secret": method != PRIVATE_KEY_JWT,
    }


@router.get("/{client_id}/edit", response_class=HTMLResponse)
async def edit_page(
    request: Request, service_id: uuid.UUID, client_id: str, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The client's form, filled in (its client id does not change)."""
    access = await admin_of(session, admin, service_id)
    return _form(request, admin, access, ClientForm.of(stored_client(access, client_id)), client_id=client_id)


@router.post("/{client_id}/edit", dependencies=[DeliverPushes])
async def edit(
    request: Request,
    service_id: uuid.UUID,
    client_id: str,
    admin: SignedInAdmin,
    session: ReadSession,
    _: CsrfProtected,
) -> Response:
    """Replace the client's settings, once identity accepts them."""
    access = await admin_of(session, admin, service_id)
    return await _save(request, admin, access, client_id, stored_client(access, client_id))


@router.get("/{client_id}/remove", response_class=HTMLResponse)
async def remove_page(
    request: Request, service_id: uuid.UUID, client_id: str, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """Ask the admin to confirm: the relying party can no longer sign anyone in."""
    access = await admin_of(session, admin, service_id)
    context = {"admin": admin, "access": access, "client": stored_client(access, client_id)}
    return render(request, "console/remove_client.html", context)


@router.post("/{client_id}/remove", dependencies=[DeliverPushes])
async def remove(
    request: Request,
    service_id: uuid.UUID,
    client_id: str,
    admin: SignedInAdmin,
    session: ReadSession,
    _: CsrfProtected,
) -> Response:
    """Remove the client from the service, and so from identity (at once, or once identity can be reached)."""
    access = await admin_of(session, admin, service_id)
    record = stored_client(access, client_id)
    verdict = await records.change(
        request.app.state.db,
        request.app.state.pusher,
        service_id,
        client_id=client_id,
        record=None,
        actor=admin.actor,
        action="oidc_client.remove",
    )
    if not verdict.refused:
        return RedirectResponse(f"{_base(service_id)}?removed={client_id}", status_code=303)
    context = {"admin": admin, "access": access, "client": record, "refused": [verdict.message], "has_errors": True}
    return render(request, "console/remove_client.html", context, 400)
