"""A service's team in the console (the `admin` role): its members and their roles, inviting someone by email,
changing a member's roles, removing a member, and cancelling an invitation.

Invitations are sent through the platform's notify API with the SDK (`gateway.invitations.email`), as any department
sends email; the invitee accepts by signing in (`console/invitations.py`). A service always keeps an admin: the last
one can neither lose the role nor be removed. Every change goes through `tenants.service` or
`invitations.service`, so it is audited with the admin as the actor.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession, mark_failed
from gaap.errors import ApiError
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.texts import ROLE_NAMES, role_names, when
from gateway.invitations import service as invitations
from gateway.invitations.email import InvitationMailer, InvitationNotSent
from gateway.settings import GatewaySettings
from gateway.sync.deps import DeliverPushes
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import ROLES, TeamMember

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/team", route_class=ConsoleRoute, include_in_schema=False)

#: What the invitation and roles forms show beside a field, by error code.
FORM_ERRORS = {
    "InvalidEmail": ("email", "Enter an email address in the correct format, like name@example.gov.uk"),
    "MemberExists": ("email", "This person is already a member of the team"),
    "NoRoles": ("roles", "Select at least one role"),
    "InvalidRole": ("roles", "Select at least one role"),
    "LastAdmin": ("roles", "The service must keep an admin: give someone else the admin role first"),
}
NOT_SENT = "The invitation email could not be sent. Try again later."
LAST_ADMIN = "You cannot remove the last admin: give someone else the admin role first"
TEXTS = [*(text for _field, text in FORM_ERRORS.values()), NOT_SENT, LAST_ADMIN]


async def _team_admin(session: AsyncSession, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    access = await service_access(session, admin, service_id)
    access.require("admin")
    return access


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "services", **context}, status_code)


#: The roles the forms offer, in the platform's order.
ROLE_CHOICES = [{"value": role, "name": ROLE_NAMES[role]} for role in ROLES]


def _base(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/team"


def mailer_of(request: Request) -> InvitationMailer:
    """The app's invitation mailer, made on first use (it remembers the template it found or made)."""
    state = request.app.state
    mailer: InvitationMailer | None = getattr(state, "invitation_mailer", None)
    if mailer is None:
        mailer = state.invitation_mailer = InvitationMailer(state.settings, state.pages)
    return mailer


@router.get("", response_class=HTMLResponse)
async def team_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    invited: Annotated[str, Query()] = "",
    removed: Annotated[str, Query()] = "",
    changed: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """The team: each member with their roles, and the invitations not yet accepted."""
    access = await _team_admin(session, admin, service_id)
    members = [
        {"id": m.id, "email": m.email, "name": m.name, "roles": role_names(m.roles)}
        for m in await tenant_repo.list_members(session, service_id)
    ]
    pending = [
        {"id": i.id, "email": i.email, "roles": role_names(i.roles), "expires": when(i.expires_at), "by": i.invited_by}
        for i in await invitations.open_invitations(session, service_id)
    ]
    context = {
        "admin": admin,
        "access": access,
        "members": members,
        "pending": pending,
        "invited": invited,
        "removed": removed,
        "changed": changed,
    }
    return _render(request, "console/team.html", context)


def _invite_form(
    request: Request, admin: Admin, access: ServiceAccess, values: dict[str, Any], errors: dict[str, str], status: int
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "roles": ROLE_CHOICES,
        "values": values,
        "errors": errors,
        "has_errors": bool(errors),
    }
    return _render(request, "console/invite.html", context, status)


@router.get("/invite", response_class=HTMLResponse)
async def invite_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """Who to invite, and the roles they will have."""
    access = await _team_admin(session, admin, service_id)
    return _invite_form(request, admin, access, {"email": "", "roles": []}, {}, 200)


@router.post("/invite")
async def invite(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    email: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Record the invitation and email its link; nothing is kept if the email cannot be sent."""
    access = await _team_admin(session, admin, service_id)
    values = {"email": email, "roles": roles or []}
    try:
        invitation, token = await invitations.invite(
            session,
            request.app.state.key_material,
            service=access.service,
            email=email,
            roles=roles or [],
            invited_by=admin.email,
            actor=admin.actor,
        )
    except ApiError as exc:
        if exc.code not in FORM_ERRORS:
            raise
        field, message = FORM_ERRORS[exc.code]
        return _invite_form(request, admin, access, values, {field: message}, 400)
    settings: GatewaySettings = request.app.state.settings
    link = f"{settings.console_origin}/console/invitations/{token}"
    try:
        invitation.notification_id = await mailer_of(request).send(
            invitation, service_name=access.service.name, link=link
        )
    except InvitationNotSent:
        mark_failed(request)  # no invitation without its email
        return _invite_form(request, admin, access, values, {"email": NOT_SENT}, 503)
    return RedirectResponse(f"{_base(service_id)}?invited={invitation.email}", status_code=303)


@router.post("/invitations/{invitation_id}/cancel")
async def cancel_invitation(
    request: Request,
    service_id: uuid.UUID,
    invitation_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
) -> Response:
    """Cancel an invitation: its link stops working."""
    access = await _team_admin(session, admin, service_id)
    try:
        await invitations.cancel(session, access.service, invitation_id, actor=admin.actor)
    except invitations.InvitationNotFound as exc:
        raise PageError(status_code=404) from exc
    return RedirectResponse(_base(service_id), status_code=303)


async def _member(session: AsyncSession, service_id: uuid.UUID, member_id: uuid.UUID) -> TeamMember:
    member = await session.get(TeamMember, member_id)
    if member is None or member.service_id != service_id or member.removed_at is not None:
        raise PageError(status_code=404)
    return member


def _roles_form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    member: TeamMember,
    chosen: list[str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "member": member,
        "roles": ROLE_CHOICES,
        "chosen": chosen,
        "errors": errors,
        "has_errors": bool(errors),
    }
    return _render(request, "console/member_roles.html", context, status)


@router.get("/{member_id}/roles", response_class=HTMLResponse)
async def roles_page(
    request: Request, service_id: uuid.UUID, member_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The member's roles, to change."""
    access = await _team_admin(session, admin, service_id)
    member = await _member(session, service_id, member_id)
    return _roles_form(request, admin, access, member, list(member.roles), {})


@router.post("/{member_id}/roles")
async def change_roles(
    request: Request,
    service_id: uuid.UUID,
    member_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Give the member these roles (the last admin keeps `admin`)."""
    access = await _team_admin(session, admin, service_id)
    member = await _member(session, service_id, member_id)
    try:
        chosen = invitations.clean_roles(roles or [])
        await tenants.keep_an_admin(session, service_id, member.id, roles_after=chosen)
        await tenants.set_member_roles(session, service_id, member.id, roles=chosen, actor=admin.actor)
    except ApiError as exc:
        if exc.code not in FORM_ERRORS:
            raise
        mark_failed(request)
        field, message = FORM_ERRORS[exc.code]
        return _roles_form(request, admin, access, member, roles or [], {field: message}, 400)
    return RedirectResponse(f"{_base(service_id)}?changed={member.email}", status_code=303)


@router.get("/{member_id}/remove", response_class=HTMLResponse)
async def remove_page(
    request: Request, service_id: uuid.UUID, member_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """Ask the admin to confirm."""
    access = await _team_admin(session, admin, service_id)
    member = await _member(session, service_id, member_id)
    return _render(request, "console/remove_member.html", {"admin": admin, "access": access, "member": member})


@router.post("/{member_id}/remove", dependencies=[DeliverPushes])
async def remove(
    request: Request,
    service_id: uuid.UUID,
    member_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
) -> Response:
    """Remove the member from the team (never the last admin); notify's copy of the team follows."""
    access = await _team_admin(session, admin, service_id)
    member = await _member(session, service_id, member_id)
    try:
        await tenants.keep_an_admin(session, service_id, member.id, roles_after=None)
    except tenants.LastAdmin:
        mark_failed(request)
        context = {"admin": admin, "access": access, "member": member, "error": LAST_ADMIN, "has_errors": True}
        return _render(request, "console/remove_member.html", context, 400)
    await tenants.remove_member(session, service_id, member.id, actor=admin.actor)
    if member.email == admin.email and not admin.operator:
        return RedirectResponse("/console", status_code=303)  # they no longer work on it
    return RedirectResponse(f"{_base(service_id)}?removed={member.email}", status_code=303)
