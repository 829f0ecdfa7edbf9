"""A service's team in the console: members and their roles, inviting someone by email (sent through notify's API
with the SDK and the console's own key), accepting the invitation by signing in through identity, changing roles
and removing members; the last admin stays; used, expired, cancelled and someone else's invitations are refused;
each action is audited; members without the admin role get the 403 page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from gaap.db.base import utcnow
from gateway.invitations.models import Invitation
from tests.gateway.console.admin_support import (
    _on,
    audit_events,
    enable_invitations,
    member_id,
    members,
    new_service,
    run,
    sent_email,
)
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.identity.support import Person

LINK = re.compile(r"(https?://[^\s)]+/console/invitations/[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def console_key(console_rig: ConsoleRig) -> str:
    return enable_invitations(console_rig)


@pytest.fixture
def admin(console_rig: ConsoleRig) -> Person:
    return console_rig.person()


@pytest.fixture
def service_id(console_rig: ConsoleRig, admin: Person) -> uuid.UUID:
    return new_service(console_rig, admin.email)


@pytest.fixture
def invitee_browser(console_rig: ConsoleRig) -> Iterator[ConsoleBrowser]:
    other = console_rig.browser()
    yield other
    other.close()


def _team(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/team"


def _invitation(rig: ConsoleRig, service_id: uuid.UUID, email: str) -> Invitation:
    async def load(session: object) -> Invitation:
        query = (
            select(Invitation)
            .where(Invitation.service_id == service_id, Invitation.email == email)
            .order_by(Invitation.created_at.desc())
        )
        found = await session.scalar(query)  # type: ignore[attr-defined]
        assert found is not None
        return found

    result: Invitation = run(_on(rig.gateway_db, load))
    return result


def _invite(browser: ConsoleBrowser, service_id: uuid.UUID, email: str, *roles: str) -> None:
    page = browser.client.get(_team(service_id) + "/invite")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    browser.last = browser.client.post(
        _team(service_id) + "/invite", data={"csrf_token": token.group(1), "email": email, "roles": list(roles)}
    )


def _link(rig: ConsoleRig, key: str, invitation: Invitation) -> str:
    body = sent_email(rig, key, f"console-invitation:{invitation.id}")["body"]
    found = LINK.search(body)
    assert found, body
    return found.group(1).removeprefix(rig.url)


def test_an_invited_person_signs_in_and_joins_the_team(
    browser: ConsoleBrowser,
    invitee_browser: ConsoleBrowser,
    console_rig: ConsoleRig,
    console_key: str,
    admin: Person,
    service_id: uuid.UUID,
) -> None:
    page = browser.sign_in_to_console(admin, f"/console/services/{service_id}")
    assert _team(service_id) in page.text
    team = browser.get(_team(service_id))
    assert admin.email in team.text and "Admin" in team.text

    invitee = console_rig.person()  # has an identity account, works on no service yet
    _invite(browser, service_id, invitee.email.upper(), "send_messages", "view_payments")
    assert browser.last is not None and browser.last.status_code == 303
    listed = browser.get(browser.last.headers["location"])
    assert f"Invitation sent to {invitee.email}" in listed.text
    assert "Invitations not yet accepted" in listed.text and "Send messages, View payments" in listed.text

    invitation = _invitation(console_rig, service_id, invitee.email)
    email = sent_email(console_rig, console_key, f"console-invitation:{invitation.id}")
    assert email["email_address"] == invitee.email and email["type"] == "email"
    assert "has invited you to join" in email["body"] and "wedi eich gwahodd" in email["body"]  # English and Welsh
    link = _link(console_rig, console_key, invitation)
    assert link.startswith("/console/invitations/") and invitation.token_hash not in link

    joining = invitee_browser.sign_in_to_console(invitee, link)
    assert joining.status_code == 200, joining.text[:500]
    assert "Join " in joining.text and "Send messages, View payments" in joining.text
    accepted = invitee_browser.submit(link)
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/console/services/{service_id}"
    assert invitee_browser.get(accepted.headers["location"]).status_code == 200
    assert members(console_rig, service_id)[invitee.email] == ["send_messages", "view_payments"]

    again = invitee_browser.get(link)
    assert again.status_code == 410 and "This invitation has expired or has already been used" in again.text
    assert invitee_browser.post_with_token(link, "/console").status_code == 410

    actor = f"console:{admin.email}"
    created = audit_events(console_rig, "invitation.create", service_id=str(service_id))
    assert created == [(actor, {"email": invitee.email, "roles": ["send_messages", "view_payments"]})]
    [(who, details)] = audit_events(console_rig, "invitation.accept", service_id=str(service_id))
    assert who == f"console:{invitee.email}" and details["email"] == invitee.email
    assert (f"console:{invitee.email}", {"email": invitee.email, "roles": ["send_messages", "view_payments"]}) in (
        audit_events(console_rig, "member.add", service_id=str(service_id))
    )


def test_links_that_no_longer_work_or_are_someone_elses_are_refused(
    browser: ConsoleBrowser,
    invitee_browser: ConsoleBrowser,
    console_rig: ConsoleRig,
    console_key: str,
    admin: Person,
    service_id: uuid.UUID,
) -> None:
    browser.sign_in_to_console(admin, _team(service_id))
    invitee = console_rig.member(["send_messages"])  # can sign in: works on the demo service

    _invite(browser, service_id, invitee.email, "manage_templates")
    first = _link(console_rig, console_key, _invitation(console_rig, service_id, invitee.email))
    _invite(browser, service_id, invitee.email, "manage_api_keys")  # inviting again cancels the first link
    second_invitation = _invitation(console_rig, service_id, invitee.email)
    second = _link(console_rig, console_key, second_invitation)

    someone_else = console_rig.member(["send_messages"])
    other = console_rig.browser()
    try:
        refused = other.sign_in_to_console(someone_else, second)
        assert refused.status_code == 403 and "This invitation is for someone else" in refused.text
        assert other.post_with_token(second, "/console").status_code == 403
    finally:
        other.close()

    assert invitee_browser.sign_in_to_console(invitee, first).status_code == 410

    async def expire(session: object) -> None:
        await session.execute(  # type: ignore[attr-defined]
            update(Invitation)
            .where(Invitation.id == second_invitation.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )

    run(_on(console_rig.gateway_db, expire))
    expired = invitee_browser.get(second)
    assert expired.status_code == 410 and "Ask an admin of the service to invite you again." in expired.text
    assert invitee_browser.post_with_token(second, "/console").status_code == 410
    assert invitee.email not in members(console_rig, service_id)
    assert invitee_browser.get("/console/invitations/not-a-real-token").status_code == 404

    _invite(browser, service_id, invitee.email, "manage_templates")
    third_invitation = _invitation(console_rig, service_id, invitee.email)
    third = _link(console_rig, console_key, third_invitation)
    team = browser.get(_team(service_id))
    assert invitee.email in team.text
    cancelled = browser.submit(
        _team(service_id), action=f"{_team(service_id)}/invitations/{third_invitation.id}/cancel"
    )
    assert cancelled.status_code == 303
    assert "There are no invitations waiting to be accepted." in browser.get(_team(service_id)).text
    assert invitee_browser.get(third).status_code == 410
    assert audit_events(console_rig, "invitation.cancel", service_id=str(service_id))[-1] == (
        f"console:{admin.email}",
        {"email": invitee.email},
    )


def test_the_invitation_form_explains_what_is_wrong(
    browser: ConsoleBrowser, console_rig: ConsoleRig, console_key: str, admin: Person, service_id: uuid.UUID
) -> None:
    browser.sign_in_to_console(admin, _team(service_id))
    _invite(browser, service_id, "not-an-address", "admin")
    assert browser.last is not None and browser.last.status_code == 400
    assert "Error: Invite a team member" in browser.last.text
    assert "Enter an email address in the correct format" in browser.last.text
    _invite(browser, service_id, "someone@example.gov.uk")
    assert browser.last.status_code == 400 and "Select at least one role" in browser.last.text
    assert 'value="someone@example.gov.uk"' in browser.last.text
    _invite(browser, service_id, admin.email, "admin")
    assert browser.last.status_code == 400 and "This person is already a member of the team" in browser.last.text

    console_rig.settings.notify_api_key = SecretStr("")  # the console cannot send email: nothing is kept
    try:
        _invite(browser, service_id, "nobody@example.gov.uk", "admin")
        assert browser.last.status_code == 503
        assert "The invitation email could not be sent. Try again later." in browser.last.text
    finally:
        console_rig.settings.notify_api_key = SecretStr(console_key)
    assert "nobody@example.gov.uk" not in browser.get(_team(service_id)).text
    assert audit_events(console_rig, "invitation.create", service_id=str(service_id)) == []


def test_roles_change_and_members_leave_but_the_last_admin_stays(
    browser: ConsoleBrowser, console_rig: ConsoleRig, admin: Person, service_id: uuid.UUID
) -> None:
    browser.sign_in_to_console(admin, _team(service_id))
    admin_id = member_id(console_rig, service_id, admin.email)
    alone = browser.submit(f"{_team(service_id)}/{admin_id}/roles", roles="send_messages")
    assert alone.status_code == 400
    assert "The service must keep an admin: give someone else the admin role first" in alone.text
    assert members(console_rig, service_id)[admin.email] == ["admin"]
    leaving = browser.submit(f"{_team(service_id)}/{admin_id}/remove")
    assert leaving.status_code == 400 and "You cannot remove the last admin" in leaving.text
    assert admin.email in members(console_rig, service_id)

    colleague = console_rig.person()

    async def add(session: object) -> None:
        from gateway.tenants import service as tenants

        await tenants.add_member(session, service_id, email=colleague.email, roles=["send_messages"], actor="test")  # type: ignore[arg-type]

    run(_on(console_rig.gateway_db, add))
    colleague_id = member_id(console_rig, service_id, colleague.email)
    form = browser.get(f"{_team(service_id)}/{colleague_id}/roles")
    assert form.status_code == 200 and f"Change the roles of {colleague.email}" in form.text
    page = browser.client.get(f"{_team(service_id)}/{colleague_id}/roles")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    changed = browser.client.post(
        f"{_team(service_id)}/{colleague_id}/roles",
        data={"csrf_token": token.group(1), "roles": ["admin", "refund_payments"]},
    )
    assert changed.status_code == 303
    assert f"Roles of {colleague.email} changed" in browser.get(changed.headers["location"]).text
    assert members(console_rig, service_id)[colleague.email] == ["admin", "refund_payments"]

    # Now there is another admin, so the first may step down, after which the team is no longer theirs to run.
    assert browser.submit(f"{_team(service_id)}/{admin_id}/roles", roles="manage_templates").status_code == 303
    assert members(console_rig, service_id)[admin.email] == ["manage_templates"]
    assert browser.get(_team(service_id)).status_code == 403

    actor = f"console:{admin.email}"
    roles = audit_events(console_rig, "member.roles", service_id=str(service_id))
    assert (actor, {"roles": ["admin", "refund_payments"]}) in roles and (
        actor,
        {"roles": ["manage_templates"]},
    ) in roles


def test_an_admin_removes_a_member(
    browser: ConsoleBrowser, console_rig: ConsoleRig, admin: Person, service_id: uuid.UUID
) -> None:
    colleague = console_rig.person()

    async def add(session: object) -> None:
        from gateway.tenants import service as tenants

        await tenants.add_member(session, service_id, email=colleague.email, roles=["view_payments"], actor="test")  # type: ignore[arg-type]

    run(_on(console_rig.gateway_db, add))
    browser.sign_in_to_console(admin, _team(service_id))
    colleague_id = member_id(console_rig, service_id, colleague.email)
    confirm = browser.get(f"{_team(service_id)}/{colleague_id}/remove")
    assert f"Are you sure you want to remove {colleague.email} from the team?" in confirm.text
    removed = browser.submit(f"{_team(service_id)}/{colleague_id}/remove")
    assert removed.status_code == 303
    assert f"{colleague.email} removed from the team" in browser.get(removed.headers["location"]).text
    assert colleague.email not in members(console_rig, service_id)
    assert audit_events(console_rig, "member.remove", service_id=str(service_id)) == [
        (f"console:{admin.email}", {"email": colleague.email})
    ]
    assert browser.get(f"{_team(service_id)}/{colleague_id}/remove").status_code == 404


def test_members_without_the_admin_role_are_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(
        ["manage_templates", "send_messages", "view_payments", "refund_payments", "manage_api_keys"]
    )
    demo = f"/console/services/{console_rig.demo_service_id}"
    shown = browser.sign_in_to_console(member, demo)
    assert f"{demo}/team" not in shown.text
    someone = member_id(console_rig, console_rig.demo_service_id, member.email)
    for path in (
        f"{demo}/team",
        f"{demo}/team/invite",
        f"{demo}/team/{someone}/roles",
        f"{demo}/team/{someone}/remove",
    ):
        assert browser.get(path).status_code == 403, path
    for path in (
        f"{demo}/team/invite",
        f"{demo}/team/{someone}/roles",
        f"{demo}/team/{someone}/remove",
        f"{demo}/team/invitations/{uuid.uuid4()}/cancel",
    ):
        refused = browser.post_with_token(path, demo, email="x@example.gov.uk", roles="admin")
        assert refused.status_code == 403 and "You cannot view this page" in refused.text, path
    assert members(console_rig, console_rig.demo_service_id)[member.email] == [
        "manage_api_keys",
        "manage_templates",
        "refund_payments",
        "send_messages",
        "view_payments",
    ]
