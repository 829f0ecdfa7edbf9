"""One-off messages and the notifications log in the console, with the real notify behind the gateway: a message
sent from a template shows in the log, filtered by status, kind and key type; the send is audited without the
recipient; the form explains what is wrong; roles are checked."""

from __future__ import annotations

import asyncio
import uuid

from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_api_keys import _audit
from tests.gateway.console.test_templates import _created_id, _templates_path


def _new_template(browser: ConsoleBrowser, rig: ConsoleRig) -> str:
    created = browser.submit(
        _templates_path(rig) + "/create",
        type="email",
        name=f"One-off {uuid.uuid4().hex[:6]}",
        subject="Hello ((name))",
        body="Your reference is ((ref)).",
    )
    assert created.status_code == 303, created.text[:2000]
    return _created_id(created.headers["location"])


def _log(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/notifications"


def test_admin_sends_a_one_off_email_and_sees_it_in_the_log(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    browser.sign_in_to_console(admin, _templates_path(console_rig))
    template_id = _new_template(browser, console_rig)
    send = f"{_templates_path(console_rig)}/{template_id}/send"
    assert send in browser.get(f"{_templates_path(console_rig)}/{template_id}").text
    reference = uuid.uuid4().hex[:8]
    recipient = f"someone-{reference}@example.gov.uk"
    sent = browser.submit(send, recipient=recipient, **{"p.name": "Ada", "p.ref": reference})
    assert sent.status_code == 303 and sent.headers["location"] == _log(console_rig) + "?sent=1"
    log = browser.get(sent.headers["location"])
    assert "Message sent" in log.text and recipient in log.text and "Hello Ada" in log.text

    assert recipient in browser.get(_log(console_rig), params={"type": "email"}).text
    assert recipient not in browser.get(_log(console_rig), params={"type": "sms"}).text
    assert recipient not in browser.get(_log(console_rig), params={"status": "delivered", "type": "sms"}).text
    assert recipient not in browser.get(_log(console_rig), params={"key_type": "test"}).text
    welsh = browser.get(_log(console_rig), params={"lang": "cy", "status": "failed"})
    assert welsh.status_code == 200 and "Negeseuon a anfonwyd" in welsh.text

    events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "notification.send"))
    mine = [details for actor, details in events if actor == f"console:{admin.email}"]
    assert mine and mine[-1] == {"template_id": template_id, "type": "email"}  # never the recipient


def test_the_send_form_explains_what_is_wrong(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    send = f"{_templates_path(console_rig)}/{_new_template(browser, console_rig)}/send"
    blank = browser.submit(send, recipient=" ", **{"p.name": "Ada", "p.ref": "1"})
    assert blank.status_code == 400 and "Enter an email address" in blank.text
    refused = browser.submit(send, recipient="not-an-email", **{"p.name": "Ada", "p.ref": "1"})
    assert refused.status_code == 400 and "Notify refused the message" in refused.text
    assert 'value="not-an-email"' in refused.text


def test_roles_are_checked(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    template_id = _new_template(browser, console_rig)
    template = f"{_templates_path(console_rig)}/{template_id}"

    sender = ConsoleBrowser(console_rig.url)
    try:
        sender.sign_in_to_console(console_rig.member(["send_messages"]), template)
        page = sender.get(template)
        assert page.status_code == 200 and template + "/send" in page.text and template + "/edit" not in page.text
        assert sender.get(template + "/edit").status_code == 403
        assert sender.get(_log(console_rig)).status_code == 200
    finally:
        sender.close()

    browser.client.cookies.clear()
    browser.sign_in_to_console(
        console_rig.member(["view_payments"]), f"/console/services/{console_rig.demo_service_id}"
    )
    for path in (template, template + "/send", _log(console_rig), _templates_path(console_rig)):
        assert browser.get(path).status_code == 403, path
