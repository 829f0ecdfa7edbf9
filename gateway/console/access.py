"""Who may use the console, and what they may do on each service.

Every console page needs a session (`SignedInAdmin`); without one the admin is sent to sign in and brought back.
An admin sees the services they are an active team member of (by the email identity verified), with the roles
they hold there; platform operators (`GATEWAY_CONSOLE_OPERATORS`) see every service with every role. A service
the admin does not work on is "not found" (its existence is not revealed); an action their roles do not allow is
the 403 page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.pages import PageError, PageRoute
from gateway.console.session import ConsoleCookies, ConsoleSession
from gateway.tenants import repository as tenant_repo
from gateway.tenants.models import ROLES, Organisation, Service

SIGN_IN_PATH = "/console/sign-in"


class SignInRequired(Exception):
    """No valid console session: answered with a redirect to sign in, which comes back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class _SignInRedirect(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def redirecting_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'next': exc.next_path})}", status_code=303)

        return redirecting_handler


class ConsoleRoute(PageRoute, _SignInRedirect):
    """Console page routes: errors are HTML pages (`PageRoute`), and a missing session is a redirect to sign in
    (caught inside `PageRoute`, which would otherwise make it a 500 page)."""


@dataclass(frozen=True)
class Admin:
    session: ConsoleSession
    operator: bool

    @property
    def email(self) -> str:
        return self.session.email

    @property
    def actor(self) -> str:
        """How the admin is named in the audit log."""
        return f"console:{self.email}"


def cookies_of(request: Request) -> ConsoleCookies:
    cookies: ConsoleCookies = request.app.state.console_cookies
    return cookies


async def _signed_in_admin(request: Request) -> Admin:
    session = cookies_of(request).session(request)
    if session is None:
        # Back to the same page after signing in, filters and all (a form post goes back to the console's home).
        query = request.url.query
        next_path = request.url.path + (f"?{query}" if query else "") if request.method == "GET" else "/console"
        raise SignInRequired(next_path)
    operators: frozenset[str] = request.app.state.console_operators
    return Admin(session, session.email in operators)


#: The signed-in admin; a page that declares it is never shown without a session.
SignedInAdmin = Annotated[Admin, Depends(_signed_in_admin)]


@dataclass(frozen=True)
class ServiceAccess:
    service: Service
    organisation: Organisation
    roles: frozenset[str]

    def may(self, *roles: str) -> bool:
        """Whether the admin holds any of `roles` here (`admin` holds them all)."""
        return "admin" in self.roles or any(role in self.roles for role in roles)

    def require(self, *roles: str) -> None:
        if not self.may(*roles):
            raise PageError(status_code=403)


async def service_access(session: AsyncSession, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    """The service and the admin's roles on it; the 404 page if they do not work on it."""
    service = await tenant_repo.get_service(session, service_id)
    if service is None or service.archived_at is not None:
        raise PageError(status_code=404)
    if admin.operator:
        roles = frozenset(ROLES)
    else:
        member = await tenant_repo.active_member(session, service.id, admin.email)
        if member is None:
            raise PageError(status_code=404)
        roles = frozenset(member.roles)
    organisation = await tenant_repo.get_organisation(session, service.organisation_id)
    assert organisation is not None
    return ServiceAccess(service, organisation, roles)
