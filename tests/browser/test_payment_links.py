"""Payment links end to end in Chromium (pay spec §15 B4, issue 7): an admin signs in to the console and creates a
link (after the form explains what is missing), a citizen opens its public address on the gateway's origin,
enters a reference and an amount, pays with the sandbox's success card and lands on the link's confirmation page,
and the admin finds the payment, successful, in the console's payments list. axe finds no WCAG 2.2 AA violation on
any page, the console's and the citizen's, and nothing is reported to the browser's console (no CSP violation)."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Browser

from gaap.pages import ensure_assets
from tests.browser.test_console_browser import _follow
from tests.browser.test_console_notify_pay import _signed_in_admin
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.browser.test_pay_pages import fill_card
from tests.gateway.console.conftest import ConsoleRig

pytestmark = pytest.mark.browser


async def test_admin_creates_a_link_and_a_citizen_pays_it(browser: Browser, console_rig: ConsoleRig) -> None:
    ensure_assets()
    context, page = await _signed_in_admin(browser, console_rig)
    errors = console_errors(page)
    citizen_context = await browser.new_context()
    try:
        # The admin makes a link on the test account.
        await _follow(page, "link", "Payment links")
        await assert_accessible(page)
        await page.get_by_label("Account").select_option("test")
        assert await submit(page, "Show") == 200
        await _follow(page, "button", "Create a payment link")
        assert await page.locator("h1").inner_text() == "Create a payment link"
        await assert_accessible(page)
        assert await submit(page, "Save") == 400  # nothing filled in: the fixed amount is missing
        assert await page.title() == "Error: Create a payment link – GaaP console – GOV.UK"
        assert await page.get_by_role("link", name="Enter the amount in pounds and pence, like 12.50").count() == 1
        await assert_accessible(page)
        await page.get_by_role("textbox", name="Fixed amount").fill("10")
        assert await submit(page, "Save") == 400  # pay names what else is missing
        assert await page.get_by_role("link", name="Enter a title").count() == 1
        await assert_accessible(page)

        title = f"Pay an invoice {uuid.uuid4().hex[:6]}"
        await page.get_by_role("textbox", name="Title").fill(title)
        await page.get_by_label("What the payment is for").fill("Invoice payment")
        await page.get_by_label("The payer enters the amount").check()
        await page.get_by_label("Smallest amount the payer may enter (optional)").fill("1")
        await page.get_by_label("Largest amount the payer may enter (optional)").fill("500")
        await page.get_by_label("The payer enters a reference").check()
        await page.get_by_label("Label of the reference the payer enters").fill("Invoice number")
        assert await submit(page, "Save") == 200
        assert await page.get_by_text("Payment link created", exact=True).count() == 1
        await assert_accessible(page)
        address = await page.locator(".govuk-notification-banner a").get_attribute("href")
        assert address is not None and address.startswith(f"{console_rig.url}/link/demo-service/pay-an-invoice-")

        # A citizen pays it, with no integration on the service's side.
        citizen = await citizen_context.new_page()
        citizen_errors = console_errors(citizen)
        opened = await citizen.goto(address)
        assert opened is not None and opened.status == 200
        assert await citizen.locator("h1").inner_text() == title
        await assert_accessible(citizen)
        assert await submit(citizen, "Continue to payment") == 200  # nothing entered: GOV.UK errors
        assert await citizen.get_by_role("link", name="Enter a reference").count() == 1
        await assert_accessible(citizen)
        reference = f"INV-{uuid.uuid4().hex[:8].upper()}"
        await citizen.get_by_label("Invoice number").fill(reference)
        await citizen.get_by_label("Payment amount").fill("23.45")
        assert await submit(citizen, "Continue to payment") == 200
        assert await citizen.get_by_role("heading", name="Enter card details").is_visible()
        assert await citizen.get_by_text("£23.45").count() >= 1
        await assert_accessible(citizen)
        await fill_card(citizen, "4444333322221111")
        assert await submit(citizen, "Continue") == 200
        assert await citizen.get_by_role("heading", name="Confirm your payment").is_visible()
        await assert_accessible(citizen)
        assert await submit(citizen, "Confirm payment") == 200
        assert citizen.url.startswith(address + "/complete/")
        assert await citizen.get_by_role("heading", name="Your payment was successful").is_visible()
        assert await citizen.get_by_text(reference, exact=True).count() == 1
        await assert_accessible(citizen)
        assert citizen_errors == []

        # The admin finds it in the console's payments, successful.
        await page.goto(f"{console_rig.url}/console/services/{console_rig.demo_service_id}")
        await _follow(page, "link", "Payments")
        await page.get_by_label("Account").select_option("test")
        await page.get_by_label("Reference").fill(reference)
        assert await submit(page, "Filter") == 200
        row = page.get_by_role("row").filter(has_text=reference)
        assert await row.count() == 1
        assert "Invoice payment" in await row.inner_text() and "£23.45" in await row.inner_text()
        assert "Success" in await row.inner_text()
        await assert_accessible(page)
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await citizen_context.close()
        await context.close()
