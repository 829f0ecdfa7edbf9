"""Signing in to the console through identity, and signing out of both."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import ReadSession
from gaap.pages import CsrfProtected, PageError, Pages, render_error_page
from gateway.console import repository as repo
from gateway.console.access import ConsoleRoute, cookies_of
from gateway.console.oidc import ConsoleRelyingParty, SignInFailed
from gateway.invitations import service as invitations

log = structlog.get_logger("gateway.console")
router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
HOME = "/console"
NO_ACCESS = "Only team members of a service can use the console. Ask an admin of your service to add you to its team."


def _relying_party(request: Request) -> ConsoleRelyingParty:
    rp: ConsoleRelyingParty = request.app.state.console_rp
    if not rp.configured:
        log.error("the console cannot sign anyone in: GATEWAY_CONSOLE_CLIENT_KEY is not set")
        raise PageError(status_code=503)
    return rp


def _console_path(path: str | None) -> str:
    """Only a console page may be returned to after signing in (never another site: no open redirect)."""
    if path and (path == HOME or path.startswith(HOME + "/")) and "//" not in path and "\\" not in path:
        return path
    return HOME


@router.get("/sign-in")
async def sign_in(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    """Send the admin to identity to sign in with their password and authenticator app."""
    rp = _relying_party(request)
    pages: Pages = request.app.state.pages
    auth = rp.authorization_request(lang=pages.language(request))
    response = RedirectResponse(auth.url, status_code=303)
    cookies_of(request).start_sign_in(
        response, state=auth.state, nonce=auth.nonce, verifier=auth.verifier, next_path=_console_path(next)
    )
    return response


@router.get("/sign-in/callback")
async def sign_in_callback(
    request: Request,
    session: ReadSession,
    code: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response:
    """Identity's answer: check it belongs to this browser's sign-in, then start a console session for an admin
    who works on at least one service (or operates the platform)."""
    rp = _relying_party(request)
    cookies = cookies_of(request)
    attempt = cookies.sign_in_attempt(request)
    if attempt is None or state != attempt.state:
        log.warning("console sign-in answer without a matching attempt")
        raise SignInFailed()
    if error or not code:
        log.info("identity did not sign the admin in", error=error)
        raise SignInFailed()
    signed_in = await rp.complete(
        request.app.state.front.state.forwarder.session, code=code, verifier=attempt.verifier, nonce=attempt.nonce
    )
    operators: frozenset[str] = request.app.state.console_operators
    # Someone invited to a team signs in to accept (`console/invitations.py`), before they work on any service.
    if (
        signed_in.email not in operators
        and not await repo.memberships(session, signed_in.email)
        and not await invitations.is_invited(session, signed_in.email)
    ):
        log.info("signed in to identity but works on no service", sub=signed_in.sub)
        refused = render_error_page(
            request,
            403,
            title="You cannot use the console",
            message=NO_ACCESS,
        )
        cookies.end_sign_in(refused)
        return refused
    response = RedirectResponse(attempt.next_path, status_code=303)
    cookies.end_sign_in(response)
    cookies.start_session(response, email=signed_in.email, sub=signed_in.sub, id_token=signed_in.id_token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, _: CsrfProtected) -> Response:
    """End the console session, then identity's (which brings the admin back to the signed-out page)."""
    cookies = cookies_of(request)
    session = cookies.session(request)
    rp: ConsoleRelyingParty = request.app.state.console_rp
    target = rp.logout_url(session.id_token) if session and rp.configured else "/console/signed-out"
    response = RedirectResponse(target, status_code=303)
    cookies.end_session(response)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> HTMLResponse:
    """Where identity sends the admin after signing out: the one console page shown without a session."""
    pages: Pages = request.app.state.pages
    return pages.render(request, "console/signed_out.html")
