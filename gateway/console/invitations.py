"""Accepting an invitation: the link in the email leads here. The invitee signs in through identity like any
admin (the console lets someone with an open invitation sign in), sees what they are invited to, and accepts;
they become a team member with the invitation's roles. The link works once, for the email it was sent to, until
it expires: anything else is refused with a page that says why.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession, mark_failed
from gaap.pages import CsrfProtected, PageError, Pages, render_error_page
from gateway.console.access import ConsoleRoute, SignedInAdmin
from gateway.console.texts import role_names, when
from gateway.invitations import service as invitations
from gateway.invitations.models import Invitation
from gateway.sync.deps import DeliverPushes
from gateway.tenants import repository as tenant_repo

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/invitations/{token}", route_class=ConsoleRoute, include_in_schema=False)
CLOSED_TITLE = "This invitation has expired or has already been used"
CLOSED_MESSAGE = "Ask an admin of the service to invite you again."
SOMEONE_ELSE_TITLE = "This invitation is for someone else"
SOMEONE_ELSE_MESSAGE = (
    "Sign out, then open the link again and sign in with the email address the invitation was sent to."
)
TEXTS = [CLOSED_TITLE, CLOSED_MESSAGE, SOMEONE_ELSE_TITLE, SOMEONE_ELSE_MESSAGE]


async def _invitation(request: Request, session: AsyncSession, token: str) -> Invitation:
    try:
        return await invitations.by_token(session, request.app.state.key_material, token)
    except invitations.InvitationNotFound as exc:
        raise PageError(status_code=404) from exc


def _refused(request: Request, exc: Exception) -> Response:
    if isinstance(exc, invitations.WrongInvitee):
        return render_error_page(request, 403, title=SOMEONE_ELSE_TITLE, message=SOMEONE_ELSE_MESSAGE)
    return render_error_page(request, 410, title=CLOSED_TITLE, message=CLOSED_MESSAGE)


@router.get("", response_class=HTMLResponse)
async def invitation_page(request: Request, token: str, admin: SignedInAdmin, session: ReadSession) -> Response:
    """What the signed-in invitee is invited to, with a button to accept."""
    invitation = await _invitation(request, session, token)
    try:
        invitations.check_invitee(invitation, admin.email)
    except (invitations.InvitationClosed, invitations.WrongInvitee) as exc:
        return _refused(request, exc)
    service = await tenant_repo.get_service(session, invitation.service_id)
    if service is None or service.archived_at is not None:
        return _refused(request, invitations.InvitationClosed())
    organisation = await tenant_repo.get_organisation(session, service.organisation_id)
    context = {
        "admin": admin,
        "service": service,
        "organisation": organisation,
        "roles": role_names(invitation.roles),
        "invited_by": invitation.invited_by,
        "expires": when(invitation.expires_at),
    }
    pages: Pages = request.app.state.pages
    return pages.render(request, "console/invitation.html", context)


@router.post("", dependencies=[DeliverPushes])
async def accept(request: Request, token: str, admin: SignedInAdmin, session: DbSession, _: CsrfProtected) -> Response:
    """Join the team; the link stops working."""
    invitation = await _invitation(request, session, token)
    try:
        member = await invitations.accept(session, invitation, email=admin.email, actor=admin.actor)
    except (invitations.InvitationClosed, invitations.WrongInvitee) as exc:
        mark_failed(request)
        return _refused(request, exc)
    return RedirectResponse(f"/console/services/{member.service_id}", status_code=303)
