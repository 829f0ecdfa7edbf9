"""Organisations and services in the console: a platform operator lists and creates organisations, creates a
service in one (becoming its admin; the service is pushed to the components), and archives services and
organisations; a service's own admin may archive it; everyone else gets the 403 page. Every change is audited
with the admin as the actor."""

from __future__ import annotations

import time
import uuid

from tests.gateway.console.admin_support import audit_events, members, new_service, operator, pushes, service
from tests.gateway.console.conftest import OPERATOR, ConsoleBrowser, ConsoleRig


def _org_id(location: str) -> uuid.UUID:
    assert location.startswith("/console/organisations/"), location
    return uuid.UUID(location.rsplit("/", 1)[1])


def _delivered(rig: ConsoleRig, service_id: uuid.UUID, component: str) -> None:
    deadline = time.monotonic() + 10
    while not pushes(rig, service_id, component) or pushes(rig, service_id, component)[0][0] != "delivered":
        assert time.monotonic() < deadline, pushes(rig, service_id, component)
        time.sleep(0.1)


def test_an_operator_creates_an_organisation_and_a_service_then_archives_them(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    with operator(console_rig) as person:
        listing = browser.sign_in_to_console(person, "/console/organisations")
        assert listing.status_code == 200 and "Demo Department" in listing.text
        assert 'href="/console/organisations"' in listing.text  # in the navigation, for operators

        name = f"Department {uuid.uuid4().hex[:6]}"
        created = browser.submit("/console/organisations/create", name=f"  {name} ")
        assert created.status_code == 303
        org_id = _org_id(created.headers["location"])
        page = browser.get(created.headers["location"])
        assert f'<h1 class="govuk-heading-xl">{name}</h1>' in page.text
        assert "This organisation has no services." in page.text
        assert (f"console:{OPERATOR}", {"name": name}) in audit_events(console_rig, "organisation.create")

        made = browser.submit(f"/console/organisations/{org_id}/services/create", name="Apply for a permit")
        assert made.status_code == 303
        service_id = uuid.UUID(made.headers["location"].rsplit("/", 1)[1])
        shown = browser.get(made.headers["location"])
        assert "Apply for a permit" in shown.text and "Trial mode" in shown.text
        assert members(console_rig, service_id) == {OPERATOR: ["admin"]}  # its creator is its admin
        assert (f"console:{OPERATOR}", {"name": "Apply for a permit", "restricted": True}) in audit_events(
            console_rig, "service.create", service_id=str(service_id)
        )
        _delivered(console_rig, service_id, "notify")  # pushed after the response, as the admin API does
        _delivered(console_rig, service_id, "pay")

        confirm = browser.get(f"/console/services/{service_id}/archive")
        assert confirm.status_code == 200 and "Are you sure you want to archive ‘Apply for a permit’?" in confirm.text
        archived = browser.submit(f"/console/services/{service_id}/archive")
        assert archived.status_code == 303 and archived.headers["location"] == f"/console/organisations/{org_id}"
        assert service(console_rig, service_id).archived_at is not None
        assert browser.get(f"/console/services/{service_id}").status_code == 404
        assert audit_events(console_rig, "service.archive", service_id=str(service_id))[0][0] == f"console:{OPERATOR}"

        second = browser.submit(f"/console/organisations/{org_id}/services/create", name="Second service")
        second_id = uuid.UUID(second.headers["location"].rsplit("/", 1)[1])
        ask = browser.get(f"/console/organisations/{org_id}/archive")
        assert "Second service" in ask.text and "Its services are archived with it." in ask.text
        gone = browser.submit(f"/console/organisations/{org_id}/archive")
        assert gone.status_code == 303
        assert f"Organisation ‘{name}’ archived" in browser.get(gone.headers["location"]).text
        assert name not in browser.get("/console/organisations").text
        assert service(console_rig, second_id).archived_at is not None
        assert audit_events(console_rig, "organisation.archive")[-1] == (f"console:{OPERATOR}", {})
        _delivered(console_rig, second_id, "notify")  # notify hears the service is no longer active


def test_the_name_forms_explain_what_is_wrong(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    with operator(console_rig) as person:
        browser.sign_in_to_console(person, "/console/organisations")
        blank = browser.submit("/console/organisations/create", name="   ")
        assert blank.status_code == 400
        assert (
            "Error: Create an organisation" in blank.text and "Enter a name, in 255 characters or fewer" in blank.text
        )
        taken = browser.submit("/console/organisations/create", name="Demo Department")
        assert taken.status_code == 400 and "There is already an organisation with this name" in taken.text
        assert 'value="Demo Department"' in taken.text
        org = service(console_rig, console_rig.demo_service_id).organisation_id
        twice = browser.submit(f"/console/organisations/{org}/services/create", name="Demo service")
        assert twice.status_code == 400 and "This organisation already has a service with this name" in twice.text
        welsh = browser.submit("/console/organisations/create?lang=cy", name="")
        assert "Rhowch enw, mewn 255 nod neu lai" in welsh.text
        assert browser.get(f"/console/organisations/{uuid.uuid4()}").status_code == 404


def test_only_operators_manage_organisations(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()  # every role on the demo service, but no operator
    home = browser.sign_in_to_console(admin)
    assert 'href="/console/organisations"' not in home.text
    org = service(console_rig, console_rig.demo_service_id).organisation_id
    for path in (
        "/console/organisations",
        "/console/organisations/create",
        f"/console/organisations/{org}",
        f"/console/organisations/{org}/archive",
        f"/console/organisations/{org}/services/create",
    ):
        assert browser.get(path).status_code == 403, path
    token_page = f"/console/services/{console_rig.demo_service_id}"
    for path in (
        "/console/organisations/create",
        f"/console/organisations/{org}/archive",
        f"/console/organisations/{org}/services/create",
    ):
        refused = browser.post_with_token(path, token_page, name="Sneaky")
        assert refused.status_code == 403 and "You cannot view this page" in refused.text, path
    assert service(console_rig, console_rig.demo_service_id).archived_at is None


def test_a_service_admin_archives_their_service_and_others_may_not(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    admin = console_rig.person()
    service_id = new_service(console_rig, admin.email)
    page = browser.sign_in_to_console(admin, f"/console/services/{service_id}")
    assert f"/console/services/{service_id}/archive" in page.text

    member = console_rig.member(
        ["manage_templates", "send_messages", "view_payments", "refund_payments", "manage_api_keys"]
    )
    other = console_rig.browser()
    try:
        demo = f"/console/services/{console_rig.demo_service_id}"
        shown = other.sign_in_to_console(member, demo)
        assert f"{demo}/archive" not in shown.text
        assert other.get(f"{demo}/archive").status_code == 403
        assert other.post_with_token(f"{demo}/archive", demo).status_code == 403
        assert other.get(f"/console/services/{service_id}/archive").status_code == 404  # not their service
    finally:
        other.close()

    archived = browser.submit(f"/console/services/{service_id}/archive")
    assert archived.status_code == 303 and archived.headers["location"] == "/console"
    assert service(console_rig, service_id).archived_at is not None
    assert audit_events(console_rig, "service.archive", service_id=str(service_id))[0][0] == f"console:{admin.email}"
