"""The developer inbox in the console: a one-off email sent from the console, delivered by notify's real worker to
the SMTP sink, read back through notify's inbox API and shown readably (its HTML part sandboxed); texts; role
checks; and, where the platform has no developer inbox, a page that says so rather than an error."""

from __future__ import annotations

import re
import uuid

from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.inbox_support import InboxConsole

EMAIL_LINK = re.compile(r'href="(/console/services/[^"]+/inbox/emails/([0-9a-f-]{36}))"')


def _send(browser: ConsoleBrowser, rig: InboxConsole, recipient: str, ref: str) -> None:
    send_path = f"/console/services/{rig.demo_service_id}/templates/{rig.template_id}/send"
    sent = browser.submit(send_path, recipient=recipient, **{"p.ref": ref})
    assert sent.status_code == 303, sent.text


def test_a_sent_email_reaches_the_inbox(inbox_console: InboxConsole) -> None:
    rig = inbox_console
    browser = rig.browser()
    try:
        inbox_path = f"/console/services/{rig.demo_service_id}/inbox"
        service = browser.sign_in_to_console(rig.member(["send_messages"]), f"/console/services/{rig.demo_service_id}")
        assert f'href="{inbox_path}"' in service.text
        empty = browser.get(inbox_path, params={"to": "nobody@example.gov.uk"})
        assert empty.status_code == 200 and "Nothing has arrived yet." in empty.text

        recipient = f"ada-{uuid.uuid4().hex[:6]}@example.gov.uk"
        ref = uuid.uuid4().hex[:8]
        _send(browser, rig, recipient, ref)
        rig.deliver()

        listing = browser.get(inbox_path, params={"to": recipient})
        assert listing.status_code == 200
        assert f"Your reference {ref}" in listing.text and recipient in listing.text
        found = EMAIL_LINK.search(listing.text)
        assert found
        email = browser.get(found.group(1))
        assert email.status_code == 200
        assert f"<title>Your reference {ref} – GaaP console – GOV.UK</title>" in email.text
        body = email.text.split('id="email-body"', 1)[1].split("</div>", 1)[0]
        assert '<p class="govuk-body">Hello</p>' in body and f"Ref {ref}" in body
        assert "Message-ID" in email.text and f"{found.group(2)}@" in email.text

        html = browser.get(found.group(1) + "/html")
        assert html.status_code == 200 and ref in html.text
        policy = html.headers["content-security-policy"]
        assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy

        missing = browser.get(f"{inbox_path}/emails/{uuid.uuid4()}")
        assert missing.status_code == 404
        texts = browser.get(inbox_path, params={"channel": "sms"})
        assert texts.status_code == 200 and "Nothing has arrived yet." in texts.text
    finally:
        browser.close()


def test_only_notify_roles_see_the_inbox(inbox_console: InboxConsole) -> None:
    rig = inbox_console
    browser = rig.browser()
    try:
        inbox_path = f"/console/services/{rig.demo_service_id}/inbox"
        service = browser.sign_in_to_console(rig.member(["view_payments"]), f"/console/services/{rig.demo_service_id}")
        assert inbox_path not in service.text
        assert browser.get(inbox_path).status_code == 403
        assert browser.get(f"{inbox_path}/emails/{uuid.uuid4()}").status_code == 403
    finally:
        browser.close()


def test_without_a_developer_inbox_the_page_says_so(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    """The shared console rig's notify has no doubles configured, as in production: notify answers
    `NoDeveloperInbox`, and the console explains rather than failing."""
    inbox_path = f"/console/services/{console_rig.demo_service_id}/inbox"
    browser.sign_in_to_console(console_rig.admin(), inbox_path)
    page = browser.last
    assert page is not None and page.status_code == 200
    assert 'id="no-inbox"' in page.text and "There is no developer inbox here." in page.text
    email = browser.get(f"{inbox_path}/emails/{uuid.uuid4()}")
    assert email.status_code == 200 and "There is no developer inbox here." in email.text
    assert browser.get(f"{inbox_path}?lang=cy").status_code == 200
