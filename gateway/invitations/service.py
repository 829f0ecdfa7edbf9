"""Inviting people to a service's team, and their accepting. Every change writes its audit event in the same
transaction; only flushes (ARCHITECTURE rule 1).

An invitation's link carries a random token; the table holds only its keyed hash. Accepting is one conditional
update (`accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > now`), so a link works once even when two
tabs submit it together, and an expired or cancelled one never does. Inviting someone again cancels the invitations
they have not used, so only the newest link works.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import BadRequest, Conflict, Forbidden, NotFound
from gateway.audit import service as audit
from gateway.invitations.models import Invitation
from gateway.keys.service import KeyMaterial
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import ROLES, Service, TeamMember

#: How long a link works (GOV.UK Notify's own invitations last two days).
VALID_FOR = timedelta(days=2)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvitationNotFound(NotFound):
    code = "InvitationNotFound"
    message = "No such invitation"


class InvitationClosed(Conflict):
    """Used, cancelled or expired: the link no longer works."""

    code = "InvitationClosed"
    message = "This invitation has expired or has already been used"


class WrongInvitee(Forbidden):
    code = "WrongInvitee"
    message = "This invitation was sent to another email address"


def clean_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise BadRequest("Enter an email address in the correct format", code="InvalidEmail")
    return email


def clean_roles(roles: list[str]) -> list[str]:
    chosen = sorted(set(roles))
    if not chosen:
        raise BadRequest("Choose at least one role", code="NoRoles")
    unknown = [role for role in chosen if role not in ROLES]
    if unknown:
        raise BadRequest(f"Unknown role(s): {', '.join(unknown)}", code="InvalidRole")
    return chosen


async def invite(
    session: AsyncSession,
    material: KeyMaterial,
    *,
    service: Service,
    email: str,
    roles: list[str],
    invited_by: str,
    actor: str,
) -> tuple[Invitation, str]:
    """A new invitation and its token (which only the email carries from now on)."""
    email = clean_email(email)
    roles = clean_roles(roles)
    if await tenant_repo.active_member(session, service.id, email) is not None:
        raise Conflict(f"{email} is already a member of this service", code="MemberExists")
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(
            Invitation.service_id == service.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        id=uuid.uuid4(),
        service_id=service.id,
        email=email,
        roles=roles,
        invited_by=invited_by,
        token_hash=material.hash(token),
        expires_at=now + VALID_FOR,
    )
    session.add(invitation)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="invitation.create",
        target_type="invitation",
        target_id=invitation.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details={"email": email, "roles": roles},
    )
    return invitation, token


async def by_token(session: AsyncSession, material: KeyMaterial, token: str) -> Invitation:
    found = await session.scalar(select(Invitation).where(Invitation.token_hash == material.hash(token)))
    if found is None:
        raise InvitationNotFound()
    return found


def check_invitee(invitation: Invitation, email: str) -> None:
    """Refuse anyone but the person invited, and a link that no longer works."""
    if not invitation.is_open(utcnow()):
        raise InvitationClosed()
    if invitation.email != email.strip().lower():
        raise WrongInvitee()


async def accept(session: AsyncSession, invitation: Invitation, *, email: str, actor: str) -> TeamMember:
    """Make the invitee a team member with the invitation's roles; the link then stops working."""
    check_invitee(invitation, email)
    now = utcnow()
    claimed = cast(
        CursorResult[object],
        await session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.accepted_at.is_(None),
                Invitation.cancelled_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(accepted_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        raise InvitationClosed()
    service = await tenants.require_service(session, invitation.service_id)
    if service.archived_at is not None:
        raise InvitationClosed()
    member = await tenant_repo.active_member(session, service.id, invitation.email)
    if member is None:
        member = await tenants.add_member(
            session, service.id, email=invitation.email, roles=list(invitation.roles), actor=actor
        )
    await audit.record(
        session,
        actor=actor,
        action="invitation.accept",
        target_type="invitation",
        target_id=invitation.id,
        service_id=service.id,
        organisation_id=service.organisation_id,
        details={"email": invitation.email, "member_id": str(member.id)},
    )
    return member


async def cancel(session: AsyncSession, service: Service, invitation_id: uuid.UUID, *, actor: str) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.service_id != service.id:
        raise InvitationNotFound()
    if invitation.accepted_at is None and invitation.cancelled_at is None:
        invitation.cancelled_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="invitation.cancel",
            target_type="invitation",
            target_id=invitation.id,
            service_id=service.id,
            organisation_id=service.organisation_id,
            details={"email": invitation.email},
        )
    return invitation


async def open_invitations(session: AsyncSession, service_id: uuid.UUID) -> list[Invitation]:
    """The service's invitations that can still be accepted, newest first."""
    query = (
        select(Invitation)
        .where(
            Invitation.service_id == service_id,
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    )
    return list((await session.scalars(query)).all())


async def is_invited(session: AsyncSession, email: str) -> bool:
    """Whether `email` holds an invitation that can still be accepted (so may sign in to the console to do so)."""
    query = select(Invitation.id).where(
        Invitation.email == email.strip().lower(),
        Invitation.accepted_at.is_(None),
        Invitation.cancelled_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    return (await session.scalar(query.limit(1))) is not None
