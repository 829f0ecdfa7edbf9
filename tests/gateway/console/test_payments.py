"""Payments in the console, with the real pay behind the gateway: the list filtered by state and reference, a
payment with its event history, and a refund after confirming (audited with the admin as the actor); roles are
checked."""

from __future__ import annotations

import asyncio
import re
import uuid

from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_api_keys import _audit


def _payments(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/payments"


def test_admin_finds_a_payment_and_refunds_part_of_it(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    reference = f"PP-{uuid.uuid4().hex[:8]}"
    payment_id = console_rig.successful_payment(reference, amount=1500)
    admin = console_rig.admin()
    service = browser.sign_in_to_console(admin, f"/console/services/{console_rig.demo_service_id}")
    assert _payments(console_rig) in service.text

    link = f"/payments/{payment_id}?mode=test"
    listing = browser.get(_payments(console_rig), params={"mode": "test", "reference": reference})
    assert listing.status_code == 200 and link in listing.text and "£15.00" in listing.text
    assert link not in browser.get(_payments(console_rig), params={"mode": "test", "state": "failed"}).text
    assert link in browser.get(_payments(console_rig), params={"mode": "test", "state": "success"}).text
    live = browser.get(_payments(console_rig), params={"reference": reference})
    assert payment_id not in live.text and "No payments match." in live.text

    detail_path = f"{_payments(console_rig)}/{payment_id}?mode=test"
    detail = browser.get(detail_path)
    assert detail.status_code == 200 and f"Payment {reference}" in detail.text
    assert "Created" in detail.text and "Success" in detail.text  # the history
    refund_path = f"{_payments(console_rig)}/{payment_id}/refund?mode=test"
    assert refund_path.replace("&", "&amp;") in detail.text or refund_path in detail.text

    form = browser.get(refund_path)
    assert form.status_code == 200 and 'value="15.00"' in form.text
    too_much = browser.submit(refund_path, amount="20.00")
    assert too_much.status_code == 400 and "no more than is left to refund" in too_much.text
    confirm = browser.submit(refund_path, amount="5.00")
    assert confirm.status_code == 200 and "Are you sure you want to refund £5.00?" in confirm.text
    done = browser.submit(refund_path, amount="5.00", confirmed="yes")
    assert done.status_code == 303, re.findall(r"govuk-error-summary__list.*?</ul>", done.text, re.S)
    assert done.headers["location"] == detail_path + "&refunded=1"
    after = browser.get(done.headers["location"])
    assert "Refund requested" in after.text and "£10.00" in after.text

    events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "payment.refund"))
    assert (f"console:{admin.email}", {"refund_id": events[-1][1]["refund_id"], "amount": 500, "mode": "test"}) in [
        (actor, details) for actor, details in events
    ]
    welsh = browser.get(detail_path + "&lang=cy")
    assert "Taliad " + reference in welsh.text


def test_a_viewer_may_not_refund(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    payment_id = console_rig.successful_payment(f"PV-{uuid.uuid4().hex[:8]}")
    browser.sign_in_to_console(console_rig.member(["view_payments"]), _payments(console_rig))
    detail = browser.get(f"{_payments(console_rig)}/{payment_id}?mode=test")
    assert detail.status_code == 200 and "/refund" not in detail.text
    refund_path = f"{_payments(console_rig)}/{payment_id}/refund?mode=test"
    assert browser.get(refund_path).status_code == 403
    refused = browser.post_with_token(refund_path, _payments(console_rig), amount="1.00", confirmed="yes")
    assert refused.status_code == 403


def test_others_see_no_payments_and_unknown_ones_are_not_found(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    browser.sign_in_to_console(
        console_rig.member(["send_messages"]), f"/console/services/{console_rig.demo_service_id}"
    )
    assert browser.get(_payments(console_rig)).status_code == 403
    browser.client.cookies.clear()
    browser.sign_in_to_console(console_rig.member(["refund_payments"]), _payments(console_rig))
    assert browser.get(f"{_payments(console_rig)}/{'a' * 26}?mode=test").status_code == 404
    assert browser.get(f"{_payments(console_rig)}/not-an-id").status_code == 404
