"""RP-initiated logout (`/logout`, spec §7.3) and signing out from the account pages.

A valid `id_token_hint` (expired is fine) with a registered `post_logout_redirect_uri` redirects at once, with no
confirmation page (R8). Without a hint, with an invalid one, or with an unregistered URI, the signed-out page is
shown and nothing redirects. The session ends in every case, and back-channel logout is queued for the clients that
were given ID tokens in it; the jobs are queued after the request's transaction commits.
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from joserfc import jws
from joserfc.errors import JoseError
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute, language_from_ui_locales
from services.identity.deps import Op
from services.identity.logout import service as logout
from services.identity.oidc.authorization import verify_id_token_hint
from services.identity.pages import PAGE_RESPONSES

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
SIGNED_OUT = "/identity/signed-out"


def _audience(token: str) -> str | None:
    try:
        aud = orjson.loads(jws.extract_compact(token.encode()).payload).get("aud")
    except (JoseError, ValueError, AttributeError):
        return None
    return aud if isinstance(aud, str) else None


@router.get("/logout")
@router.post("/logout")
async def rp_logout(request: Request, op: Op, db: DbSession, background: BackgroundTasks) -> Response:
    """End the user's session at the OP, as a relying party asks."""
    params = dict(request.query_params)
    if request.method == "POST":
        params = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    hint, uri = params.get("id_token_hint"), params.get("post_logout_redirect_uri")
    client_id = params.get("client_id") or (_audience(hint) if hint else None)
    client = await op.clients.get(client_id) if client_id else None
    claims = None
    if hint and client is not None:
        claims = verify_id_token_hint(await op.keys.current(), op.issuer, hint, client.client_id)
    response: Response
    if claims is not None and client is not None and uri in client.post_logout_redirect_uris:
        state = params.get("state")
        target = uri + ("&" if "?" in uri else "?") + urlencode({"state": state}) if state else uri
        response = RedirectResponse(target, status_code=302)
    else:
        lang = language_from_ui_locales(params.get("ui_locales"))
        response = request.app.state.pages.render(request, "identity/signed_out.html", lang=lang)
    session = await op.sessions.load(request)
    if session is not None:
        queued = await logout.end_session(op, db, session, response, "rp_logout")
        background.add_task(logout.enqueue, op, queued)
    return response


@router.post("/identity/sign-out")
async def sign_out(request: Request, op: Op, db: DbSession, background: BackgroundTasks, _: CsrfProtected) -> Response:
    """Sign out from the account pages."""
    response = RedirectResponse(SIGNED_OUT, status_code=303)
    session = await op.sessions.load(request)
    if session is not None:
        queued = await logout.end_session(op, db, session, response, "signed_out")
        background.add_task(logout.enqueue, op, queued)
    return response


@router.get(SIGNED_OUT)
async def signed_out(request: Request) -> Response:
    """The page shown after signing out."""
    return request.app.state.pages.render(request, "identity/signed_out.html")
