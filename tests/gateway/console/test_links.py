"""Payment links in the console, with the real pay behind the gateway (pay spec §15 B4): an admin creates a link
(after the form explains what is wrong, in the form's words and in pay's), sees its public address, edits it and
archives it, each change audited with the admin as the actor; the address then says the link is no longer
available. Viewers see the list but cannot change it; others cannot see it. Welsh is complete."""

from __future__ import annotations

import asyncio
import html
import re
import uuid

import httpx

from gaap.pages.i18n import Catalogues
from gateway.console.links import FORM_ERRORS, TEXTS
from services.pay.links.service import ADDRESS_TAKEN, NO_SERVICE_SLUG, SERVICE_SLUG_TAKEN
from services.pay.links.validation import MESSAGES, NOT_PENCE, NOT_TEXT
from tests.gateway.console.conftest import ROOT, ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_api_keys import _audit

FORM = {
    "title": "",
    "description": "Parking permit",
    "amount_type": "fixed",
    "amount": "12.50",
    "reference_type": "generated",
    "language": "en",
    "metadata": "",
}


def _links(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/payment-links"


def _created_id(response: httpx.Response) -> str:
    found = re.search(r"[?&]created=(\w+)", response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1)


def test_admin_creates_edits_and_archives_a_link(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    service = browser.sign_in_to_console(admin, f"/console/services/{console_rig.demo_service_id}")
    assert _links(console_rig) in service.text
    create = f"{_links(console_rig)}/create?mode=test"
    form = browser.get(create)
    assert form.status_code == 200 and "Create a payment link" in form.text

    not_pounds = browser.submit(create, **{**FORM, "title": "Permit", "amount": "12.5.0"})
    assert not_pounds.status_code == 400 and FORM_ERRORS["amount"] in not_pounds.text
    assert 'href="#amount"' in not_pounds.text and "<title>Error: " in not_pounds.text
    refused = browser.submit(create, **{**FORM, "metadata": "cost_code: PK-1\n" + "x" * 31 + ": y"})
    assert refused.status_code == 400 and MESSAGES["title"] in refused.text  # pay's own words
    assert html.escape(MESSAGES["metadata"]) in refused.text and 'href="#metadata"' in refused.text
    assert 'value="12.50"' in refused.text  # what the admin typed is kept

    suffix = uuid.uuid4().hex[:8]
    done = browser.submit(
        create,
        **{**FORM, "title": f"Pay for a parking permit {suffix}", "metadata": "cost_code: PK-1\n\nledger: 7"},
    )
    assert done.status_code == 303, re.findall(r"govuk-error-message.*?</p>", done.text, re.S)
    link_id = _created_id(done)
    url = f"{console_rig.url}/link/demo-service/pay-for-a-parking-permit-{suffix}"
    listing = browser.get(done.headers["location"])
    assert listing.status_code == 200 and "Payment link created" in listing.text
    assert listing.text.count(url) >= 2 and "£12.50" in listing.text  # the banner and the row
    events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "payment_link.create"))
    assert (
        f"console:{admin.email}",
        {"mode": "test", "url": url, "title": f"Pay for a parking permit {suffix}"},
    ) in events

    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "Pay for a parking permit" in page.text and "£12.50" in page.text

    taken = browser.submit(create, **{**FORM, "title": "Again", "slug": f"pay-for-a-parking-permit-{suffix}"})
    assert taken.status_code == 400 and html.escape(ADDRESS_TAKEN) in taken.text

    edit = f"{_links(console_rig)}/{link_id}/edit?mode=test"
    editing = browser.get(edit)
    assert editing.status_code == 200 and "cost_code: PK-1\nledger: 7" in editing.text and url in editing.text
    saved = browser.submit(
        edit,
        **{
            **FORM,
            "title": "Parking permits",
            "amount_type": "payer",
            "min_amount": "5",
            "max_amount": "250",
            "reference_type": "payer",
            "reference_label": "Permit number",
            "language": "cy",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"saved={link_id}")
    assert "£5.00 – £250.00" in browser.get(saved.headers["location"]).text
    welsh_page = httpx.get(url, timeout=30)
    assert "Swm y taliad" in welsh_page.text and "Permit number" in welsh_page.text
    updates = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "payment_link.update"))
    assert (f"console:{admin.email}", {"mode": "test", "url": url, "title": "Parking permits"}) in updates

    archive = f"{_links(console_rig)}/{link_id}/archive?mode=test"
    confirm = browser.get(archive)
    assert confirm.status_code == 200 and "Are you sure you want to archive ‘Parking permits’?" in confirm.text
    archived = browser.submit(archive)
    assert archived.status_code == 303 and archived.headers["location"].endswith(f"archived={link_id}")
    after = browser.get(archived.headers["location"])
    assert "Payment link archived" in after.text and f"/{link_id}/edit" not in after.text
    assert asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "payment_link.archive"))
    gone = httpx.get(url, timeout=30)
    assert gone.status_code == 410 and "Nid yw’r ddolen hon ar gael mwyach" in gone.text
    assert browser.get(edit).status_code == 303  # an archived link cannot be edited

    welsh = browser.get(f"{_links(console_rig)}?mode=test&lang=cy")
    assert "Dolenni talu" in welsh.text and "Creu dolen dalu" in welsh.text


def test_a_viewer_sees_links_but_cannot_change_them(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.member(["view_payments"]), _links(console_rig))
    listing = browser.get(_links(console_rig), params={"mode": "test"})
    assert listing.status_code == 200 and "Payment links" in listing.text
    assert "Create a payment link" not in listing.text and "/archive" not in listing.text
    assert browser.get(f"{_links(console_rig)}/create").status_code == 403
    refused = browser.post_with_token(f"{_links(console_rig)}/create?mode=test", _links(console_rig), **FORM)
    assert refused.status_code == 403
    archive = browser.post_with_token(f"{_links(console_rig)}/{'0' * 26}/archive", _links(console_rig))
    assert archive.status_code == 403


def test_others_cannot_see_links(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(
        console_rig.member(["send_messages"]), f"/console/services/{console_rig.demo_service_id}"
    )
    assert browser.get(_links(console_rig)).status_code == 403
    browser.client.cookies.clear()
    browser.sign_in_to_console(console_rig.admin(), _links(console_rig))
    assert browser.get(f"{_links(console_rig)}/{'0' * 26}/edit").status_code == 404
    assert browser.get(f"{_links(console_rig)}/not-an-id!/archive").status_code == 404


def test_welsh_is_complete_for_links() -> None:
    welsh = Catalogues([ROOT / "gateway" / "console" / "locale"])
    chosen = [*TEXTS, *MESSAGES.values(), NOT_TEXT, NOT_PENCE, ADDRESS_TAKEN, SERVICE_SLUG_TAKEN, NO_SERVICE_SLUG]
    assert [text for text in chosen if welsh.gettext("cy", text) == text] == []
