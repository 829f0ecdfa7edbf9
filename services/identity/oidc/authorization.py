"""The authorization endpoint's decisions (spec §5.4): answer at once, send the user to sign in, or issue a code.

- A session that meets the requested credential level answers at once (single sign-on), unless `prompt=login`, an
  expired `max_age` or an `id_token_hint` for someone else asks for a fresh sign-in.
- A session at `Cl` asked for `Cl.Cm` only needs the second factor (step-up without signing in again).
- A `P1`/`P2` request is answered from the stored identity when it meets the level (spec §10.6); otherwise the
  signed-in user goes through proving (`/identity/prove`), so a `Cl.Cm` session steps up without signing in again.
- Otherwise the request waits in the browser session while the user signs in; `/identity/continue` issues its code.
- `prompt=none` never shows a page: it answers `login_required` when the user would have to sign in.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gaap.pages import language_from_ui_locales, render_error_page
from services.identity.clients.registry import RegisteredClient
from services.identity.deps import Provider
from services.identity.i18n import N_
from services.identity.keys.models import ID_TOKEN_SETS, JWKS_SETS
from services.identity.keys.ring import KeySnapshot
from services.identity.oidc.authorize import PARAMETERS, AuthorizationRequest, AuthorizeError, validate
from services.identity.oidc.errors import error_uri, with_error_uri
from services.identity.oidc.request_object import kid_of, open_request_object
from services.identity.oidc.requests import Exchange, OidcRequest
from services.identity.pages import go
from services.identity.proving import credential
from services.identity.sessions.store import BrowserSession
from services.identity.usage import service as usage

SIGN_IN = "/identity/sign-in"
SECOND_FACTOR = "/identity/sign-in/security-code"
CONTINUE = "/identity/continue"
PROVE = "/identity/prove"


def verify_id_token_hint(keys: KeySnapshot, issuer: str, token: str, client_id: str) -> dict[str, Any] | None:
    """The claims of an ID token this OP issued to `client_id` (an expired one is fine, spec §5.1), or None. Either
    ID token algorithm: the client may have changed its `IdTokenSigningAlgorithm` since (joserfc takes the key its
    `kid` names, and only with the algorithm of that key's type)."""
    try:
        claims = jwt.decode(token, keys.verification_keys(*JWKS_SETS), algorithms=list(ID_TOKEN_SETS)).claims
    except (JoseError, ValueError):
        return None
    if claims.get("iss") != issuer or claims.get("aud") != client_id or not claims.get("sub"):
        return None
    return claims


def error_redirect(error: AuthorizeError, issuer: str) -> Response:
    """The error at the relying party's validated `redirect_uri`, with the `error_uri` of its documentation."""
    assert error.redirect_uri is not None
    params = with_error_uri(issuer, {"error": error.error, "error_description": error.description})
    if error.state:
        params["state"] = error.state
    separator = "#" if error.response_mode == "fragment" else ("&" if "?" in error.redirect_uri else "?")
    return RedirectResponse(error.redirect_uri + separator + urlencode(params), status_code=302)


def error_answer(request: Request, error: AuthorizeError, issuer: str, lang: str | None = None) -> Response:
    """A refused request: the HTML error page (status 400, with the request id, the error's code and a link to its
    documentation for the service's developers) while the redirect is not validated, else the redirect."""
    if error.redirect_uri is None:
        context = {
            "message_id": error.description,
            "error_code": error.error,
            "error_uri": error_uri(issuer, error.error),
        }
        return request.app.state.pages.render(request, "identity/oauth_error.html", context, 400, lang=lang)
    return error_redirect(error, issuer)


async def start(op: Provider, request: Request, pairs: list[tuple[str, str]]) -> Response:
    """`GET` or `POST /authorize`."""
    client_id = next((value for key, value in pairs if key == "client_id"), None)
    client = await op.clients.get(client_id) if client_id else None
    keys = await op.keys.current()
    lang = language_from_ui_locales(next((value for key, value in pairs if key == "ui_locales"), None))
    request_object = next((value for key, value in pairs if key == "request"), None)
    client_keys = KeySet([])
    if client is not None and request_object is not None:
        client_keys = await op.clients.keys_for(client, kid_of(request_object))
    try:
        auth, client = validate(
            pairs,
            lambda wanted: client if client is not None and client.client_id == wanted else None,
            verify_hint=lambda token, cid: verify_id_token_hint(keys, op.issuer, token, cid),
            language_of=language_from_ui_locales,
            open_request=lambda token, c: open_request_object(
                token, client_keys, client_id=c.client_id, issuer=op.issuer, parameters=PARAMETERS
            ),
        )
    except AuthorizeError as error:
        return error_answer(request, error, op.issuer, lang)
    session = await op.sessions.load_or_new(request)
    return await _decide(op, request, session, auth, client)


def refuse(op: Provider, auth: AuthorizationRequest, error: str, description: str) -> Response:
    """End a waiting request with an OAuth error at the relying party (also when a proving journey stops)."""
    return error_redirect(
        AuthorizeError(
            error, description, redirect_uri=auth.redirect_uri, state=auth.state, response_mode=auth.response_mode
        ),
        op.issuer,
    )


async def _decide(
    op: Provider, request: Request, session: BrowserSession, auth: AuthorizationRequest, client: RegisteredClient
) -> Response:
    now = int(time.time())
    vector = auth.vector
    fresh_after = None
    if (
        "login" in auth.prompt
        or auth.max_age == 0
        or (auth.max_age is not None and session.auth_time is not None and now - session.auth_time > auth.max_age)
    ):
        fresh_after = now
    someone_else = (
        auth.hint_sub is not None
        and session.user_id is not None
        and op.subject_for(client, session.user_id) != auth.hint_sub
    )
    signed_in = session.user_id is not None and not someone_else and fresh_after is None
    if signed_in and session.level >= vector.strength:
        return await _proceed(op, request, session, auth, client)
    if "none" in auth.prompt:
        return refuse(op, auth, "login_required", "Login required")
    if not signed_in:
        session.sign_out()
        await op.sessions.rotate(session)
    session.pending, session.fresh_after = auth.to_dict(), fresh_after
    target = SECOND_FACTOR if signed_in else SIGN_IN
    if auth.lang:
        target += f"?lang={auth.lang}"
    response = RedirectResponse(target, status_code=303)
    await op.sessions.save(session, response)
    return response


async def resume(op: Provider, request: Request, session: BrowserSession) -> Response:
    """`/identity/continue`: after signing in, issue the code for the request that was waiting (or say what is
    still needed)."""
    if session.pending is None:
        return RedirectResponse("/identity/account", status_code=303)
    auth = AuthorizationRequest.from_dict(session.pending)
    if session.user_id is None or (session.fresh_after and (session.auth_time or 0) < session.fresh_after):
        return RedirectResponse(SIGN_IN, status_code=303)
    if session.level < auth.vector.strength:
        return RedirectResponse(SECOND_FACTOR, status_code=303)
    client = await op.clients.get(auth.client_id)
    if client is None or not client.active or not client.check_redirect_uri(auth.redirect_uri):
        session.pending = None
        response = render_error_page(request, 400, message=N_("Unknown client"))
        await op.sessions.save(session, response)
        return response
    return await _proceed(op, request, session, auth, client)


async def _proceed(
    op: Provider, request: Request, session: BrowserSession, auth: AuthorizationRequest, client: RegisteredClient
) -> Response:
    """Signed in at the credential level: issue the code, unless the request needs an identity not yet proven."""
    assert session.user_id is not None
    if auth.vector.identity >= 1:
        async with request.app.state.db.read_session() as db:
            level = await credential.reusable_level(db, session.user_id, op.settings.identity_reuse_days)
        if level < auth.vector.identity:
            if "none" in auth.prompt:
                return refuse(op, auth, "interaction_required", "Identity proving is needed")
            session.pending = auth.to_dict()
            return await go(op, session, PROVE + (f"?lang={auth.lang}" if auth.lang else ""))
    return await issue(op, request, session, auth, client)


async def issue(
    op: Provider,
    request: Request,
    session: BrowserSession,
    auth: AuthorizationRequest,
    client: RegisteredClient,
    return_code: str | None = None,
    *,
    proved: bool = False,
) -> Response:
    """Issue the code through Authlib's grant, store it, record the sign-in, and redirect to the relying party.
    `return_code`: a proving journey that failed, for a client that asked for `returnCode` (spec §7.2); `proved`:
    a proving journey met the identity level just now."""
    assert session.user_id is not None
    assert session.auth_time is not None
    sub = op.subject_for(client, session.user_id)
    exchange = Exchange(
        issuer=op.issuer,
        keys=await op.keys.current(),
        client=client,
        user={
            "user_id": session.user_id,
            "sub": sub,
            "vot": auth.vector.credential,
            "sid": session.sid,
            "auth_time": session.auth_time,
            "claims": auth.claims,
            "identity": auth.vector.identity,
            "return_code": return_code,
        },
    )
    oauth = OidcRequest("GET", op.issuer + "authorize", request.headers, list(auth.oauth_params().items()), exchange)
    answer = op.server.issue_code(oauth)
    if exchange.issued_code is not None:
        code, data = exchange.issued_code
        await op.grants.save_code(code, data, op.settings.auth_code_ttl)
        sign_in = usage.sign_in_of(
            client.service_id, client.client_id, sub, auth.vector, proved=proved, failed=return_code is not None
        )
        await usage.record(request.app.state.db, sign_in)
    session.pending, session.fresh_after = None, None
    response: Response = RedirectResponse(answer.location or "/identity/account", status_code=302)
    await op.sessions.save(session, response)
    return response


def lost_session(request: Request) -> Response:
    """The browser session ended (or never began) mid-journey: the relying party is not known any more."""
    return render_error_page(
        request, 400, message=N_("Your session has ended. Go back to the service and start again.")
    )
