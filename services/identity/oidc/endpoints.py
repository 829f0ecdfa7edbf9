"""The relying parties' endpoints: discovery, JWKS, trust mark, DID document, `/authorize`, `/token`, `/userinfo`.

JSON endpoints answer RFC 6749/6750 errors (the app's `oauth` family); `/authorize` and `/identity/continue` are
browser endpoints, whose errors before the redirect is validated are HTML pages (`PageRoute`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.errors import json_response
from gaap.pages import PageRoute
from services.identity.deps import Op
from services.identity.keys.models import JWKS_SETS
from services.identity.oidc import authorization, tokens
from services.identity.oidc.discovery import discovery_document, documentation_links, trustmark_document
from services.identity.pages import PAGE_RESPONSES
from services.identity.proving import credential

ONE_DAY = {"Cache-Control": "public, max-age=86400"}
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "RFC 6749 error"},
    401: {"description": "RFC 6750 error (bearer token missing or not valid)"},
    503: {"description": "temporarily_unavailable"},
}

api = APIRouter(tags=["oidc"], responses=OAUTH_ERRORS)
pages = APIRouter(tags=["oidc"], route_class=PageRoute, default_response_class=HTMLResponse, responses=PAGE_RESPONSES)


@api.get("/.well-known/openid-configuration")
async def openid_configuration(op: Op) -> Response:
    """The discovery document."""
    document = {**discovery_document(op.issuer), **documentation_links(op.issuer, op.settings)}
    return json_response(200, document, ONE_DAY)


@api.get("/.well-known/jwks.json")
async def jwks(op: Op) -> Response:
    """The OP's published signing keys, EC (ES256) and RSA (RS256): standby, active and retired (spec §8)."""
    return json_response(200, (await op.keys.current()).jwks(*JWKS_SETS), ONE_DAY)


@api.get("/trustmark")
async def trustmark(op: Op) -> Response:
    """The levels of confidence this OP delivers."""
    return json_response(200, trustmark_document(op.issuer, op.sources.sandbox), ONE_DAY)


@api.get("/.well-known/did.json")
async def did(op: Op) -> Response:
    """The DID document publishing the keys that sign core identity JWTs (spec §4, §7.1)."""
    document = credential.did_document(op.settings.core_identity_issuer_url, await op.keys.current())
    return json_response(200, document, ONE_DAY)


@api.post("/token")
async def token(request: Request, op: Op) -> Response:
    """Exchange an authorization code for an ID token and an access token (`private_key_jwt`, `client_secret_post`
    or `client_secret_basic`, as the client is registered)."""
    return await tokens.token(op, request)


@api.get("/userinfo")
@api.post("/userinfo")  # a route per method, so each has its own operation id
async def userinfo(request: Request, op: Op, session: DbSession) -> Response:
    """The signed-in user's claims, as the access token's scope allows."""
    return await tokens.userinfo(op, request, session)


@pages.get("/authorize")
@pages.post("/authorize")
async def authorize(request: Request, op: Op) -> Response:
    """An authentication request (code flow); `POST` takes form-encoded parameters."""
    pairs = list(request.query_params.multi_items())
    if request.method == "POST":
        pairs = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    return await authorization.start(op, request, pairs)


@pages.get("/identity/continue")
async def resume(request: Request, op: Op) -> Response:
    """After signing in: the code for the authorization request that was waiting."""
    session = await op.sessions.load(request)
    if session is None:
        return authorization.lost_session(request)
    return await authorization.resume(op, request, session)
