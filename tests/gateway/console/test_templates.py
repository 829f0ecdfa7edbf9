"""Notify templates in the console, with the real notify behind the gateway: list, create, edit (a new version),
preview with sample personalisation; each change audited with the admin as the actor; refused without the role."""

from __future__ import annotations

import asyncio
import re
import uuid

from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_api_keys import _audit


def _templates_path(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/templates"


def _created_id(location: str) -> str:
    found = re.search(r"/templates/([0-9a-f-]{36})\?saved=1$", location)
    assert found, location
    return found.group(1)


def test_admin_creates_edits_and_previews_an_email_template(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    service = browser.sign_in_to_console(admin, f"/console/services/{console_rig.demo_service_id}")
    base = _templates_path(console_rig)
    assert base in service.text
    name = f"Appointment {uuid.uuid4().hex[:6]}"
    created = browser.submit(
        base + "/create", type="email", name=name, subject="Hello ((name))", body="Your slot is ((day))."
    )
    assert created.status_code == 303, created.text[:2000]
    template_id = _created_id(created.headers["location"])
    assert template_id
    shown = browser.get(created.headers["location"])
    assert f"Template ‘{name}’ saved" in shown.text and "Your slot is ((day))." in shown.text
    assert name in browser.get(base).text

    preview = browser.get(f"{base}/{template_id}", params={"p.name": "Ada", "p.day": "Tuesday"})
    assert preview.status_code == 200
    assert 'id="preview"' in preview.text and "Hello Ada" in preview.text and "Your slot is Tuesday." in preview.text
    unfilled = browser.get(f"{base}/{template_id}", params={"p.name": "Ada"})
    assert 'id="preview"' not in unfilled.text

    edited = browser.submit(
        f"{base}/{template_id}/edit", name=name, subject="Hello ((name))", body="Your slot moved to ((day))."
    )
    assert edited.status_code == 303
    again = browser.get(edited.headers["location"])
    assert "Your slot moved to ((day))." in again.text
    version = re.search(r"Version\s*</dt>\s*<dd[^>]*>\s*(\d+)\s*</dd>", again.text)
    assert version and version.group(1) == "2", again.text[again.text.find("Version") - 200 :][:600]

    actor = f"console:{admin.email}"
    for action in ("template.create", "template.update"):
        events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, action))
        assert any(a == actor and d.get("name") == name for a, d in events), (action, events)


def test_a_text_message_template_has_no_subject(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    created = browser.submit(_templates_path(console_rig) + "/create", type="sms", name="Reminder", body="See you")
    assert created.status_code == 303
    edit = browser.get(created.headers["location"].split("?")[0] + "/edit")
    assert edit.status_code == 200 and 'name="subject"' not in edit.text


def test_the_form_explains_what_is_wrong(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    create = _templates_path(console_rig) + "/create"
    blank = browser.submit(create, type="email", name="", subject="", body="")
    assert blank.status_code == 400
    for message in ("Enter a name for the template", "Enter the email’s subject", "Enter the message"):
        assert message in blank.text
    welsh = browser.submit(create + "?lang=cy", type="", name="x", body="y")
    assert welsh.status_code == 400 and "Dewiswch y math o dempled" in welsh.text


def test_a_member_without_the_role_is_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["view_payments"])
    service = browser.sign_in_to_console(member, f"/console/services/{console_rig.demo_service_id}")
    assert _templates_path(console_rig) not in service.text
    assert browser.get(_templates_path(console_rig)).status_code == 403


def test_a_sender_sees_templates_but_may_not_change_them(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["send_messages"])
    listing = browser.sign_in_to_console(member, _templates_path(console_rig))
    assert listing.status_code == 200 and "Create a template" not in listing.text
    assert browser.get(_templates_path(console_rig) + "/create").status_code == 403
    refused = browser.post_with_token(
        _templates_path(console_rig) + "/create", _templates_path(console_rig), type="sms", name="x", body="y"
    )
    assert refused.status_code == 403


def test_a_manage_templates_member_may_and_unknown_templates_are_not_found(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    member = console_rig.member(["manage_templates"])
    page = browser.sign_in_to_console(member, _templates_path(console_rig))
    assert page.status_code == 200 and "Create a template" in page.text
    assert browser.get(f"{_templates_path(console_rig)}/{uuid.uuid4()}").status_code == 404
    other = f"/console/services/{console_rig.console_service_id}/templates"
    assert browser.get(other).status_code == 404
