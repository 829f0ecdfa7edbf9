"""The console's Notify and Pay pages in Chromium: an admin creates an email template (after the form explains
what is missing), previews it with sample personalisation, edits it, sends a one-off email from it and sees it in
the log, filtered; and finds a payment and refunds part of it after confirming. axe finds no WCAG 2.2 AA violation
on any page, in English or Welsh, and the CSP reports nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.test_console_browser import _follow
from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.conftest import ConsoleRig

pytestmark = pytest.mark.browser


async def _signed_in_admin(browser: Browser, rig: ConsoleRig) -> tuple[BrowserContext, Page]:
    """A new browser context with an admin of the demo service signed in, on the service's page."""
    admin = await asyncio.to_thread(rig.admin)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{rig.url}/console/services/{rig.demo_service_id}")
    await sign_in(page, admin)
    assert await page.locator("h1").inner_text() == "Demo service"
    return context, page


async def test_admin_creates_and_previews_a_template(browser: Browser, console_rig: ConsoleRig) -> None:
    context, page = await _signed_in_admin(browser, console_rig)
    errors = console_errors(page)
    try:
        await _follow(page, "link", "Templates")
        assert await page.locator("h1").inner_text() == "Templates"
        await assert_accessible(page)
        await _follow(page, "button", "Create a template")
        await assert_accessible(page)
        assert await submit(page, "Save") == 400  # nothing filled in: the error summary says what to do
        assert await page.title() == "Error: Create a template – GaaP console – GOV.UK"
        await assert_accessible(page)

        name = f"Browser template {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Email", exact=True).check()
        await page.get_by_label("Template name").fill(name)
        await page.get_by_label("Subject (emails only)").fill("Hello ((name))")
        await page.get_by_role("textbox", name="Message").fill("Your appointment is on ((day)).")
        assert await submit(page, "Save") == 200
        assert await page.locator("h1").inner_text() == name
        await assert_accessible(page)

        await page.get_by_label("name", exact=True).fill("Ada")
        await page.get_by_label("day", exact=True).fill("Tuesday")
        assert await submit(page, "Preview") == 200
        preview = await page.locator("#preview").inner_text()
        assert "Hello Ada" in preview and "Your appointment is on Tuesday." in preview
        await assert_accessible(page)

        await _follow(page, "button", "Edit this template")
        await assert_accessible(page)
        await page.get_by_role("textbox", name="Message").fill("Your appointment moved to ((day)).")
        assert await submit(page, "Save") == 200
        assert await page.get_by_text(f"Template ‘{name}’ saved").count() == 1
        template_url = page.url.split("?")[0]

        await _follow(page, "button", "Send a message")
        await assert_accessible(page)
        recipient = f"browser-{uuid.uuid4().hex[:8]}@example.gov.uk"
        await page.get_by_label("Email address").fill(recipient)
        await page.get_by_label("name", exact=True).fill("Ada")
        await page.get_by_label("day", exact=True).fill("Friday")
        assert await submit(page, "Send") == 200
        assert await page.get_by_text("Message sent", exact=True).count() == 1
        assert await page.get_by_role("rowheader", name=recipient).count() == 1
        await assert_accessible(page)
        await page.get_by_label("Kind").select_option("sms")
        assert await submit(page, "Filter") == 200
        assert await page.get_by_role("rowheader", name=recipient).count() == 0
        await assert_accessible(page)

        await page.goto(template_url + "?lang=cy")
        assert await page.get_by_role("heading", name="Rhagolwg").count() == 1
        await assert_accessible(page)
        await _follow(page, "link", "Yn ôl")
        await assert_accessible(page)
        # Only the form's deliberate 400 is reported; no CSP violation, no script error.
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()


async def test_admin_refunds_a_payment(browser: Browser, console_rig: ConsoleRig) -> None:
    reference = f"BR-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(console_rig.successful_payment, reference, 2000)
    context, page = await _signed_in_admin(browser, console_rig)
    errors = console_errors(page)
    try:
        await _follow(page, "link", "Payments")
        await assert_accessible(page)
        await page.get_by_label("Account").select_option("test")
        await page.get_by_label("Reference").fill(reference)
        assert await submit(page, "Filter") == 200
        await assert_accessible(page)
        await _follow(page, "link", reference)
        assert await page.locator("h1").inner_text() == f"Payment {reference}"
        await assert_accessible(page)

        await _follow(page, "button", "Refund this payment")
        await assert_accessible(page)
        await page.get_by_label("Amount to refund").fill("50")
        assert await submit(page, "Continue") == 400  # more than was paid
        await assert_accessible(page)
        await page.get_by_label("Amount to refund").fill("7.50")
        assert await submit(page, "Continue") == 200
        assert await page.locator("h1").inner_text() == "Are you sure you want to refund £7.50?"
        await assert_accessible(page)
        assert await submit(page, "Yes, refund this payment") == 200
        assert await page.get_by_text("Refund requested", exact=True).count() == 1
        assert await page.get_by_text("£12.50", exact=True).count() == 1
        await assert_accessible(page)

        await page.goto(page.url.split("?")[0] + "?mode=test&lang=cy")
        assert await page.locator("h1").inner_text() == f"Taliad {reference}"
        await assert_accessible(page)
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()


async def test_admin_uploads_a_csv_with_one_bad_row_then_sends_the_fixed_file(
    browser: Browser,
    console_rig: ConsoleRig,
) -> None:
    context, page = await _signed_in_admin(browser, console_rig)
    errors = console_errors(page)
    try:
        await _follow(page, "link", "Templates")
        await _follow(page, "button", "Create a template")
        name = f"Bulk template {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Email", exact=True).check()
        await page.get_by_label("Template name").fill(name)
        await page.get_by_label("Subject (emails only)").fill("Hello ((name))")
        await page.get_by_role("textbox", name="Message").fill("Your reference is ((ref)).")
        assert await submit(page, "Save") == 200

        await _follow(page, "button", "Upload a list of recipients")
        assert await page.locator("h1").inner_text() == "Upload a list of recipients"
        await assert_accessible(page)
        batch = uuid.uuid4().hex[:8]
        good, also_good = f"ada-{batch}@example.gov.uk", f"bob-{batch}@example.gov.uk"
        await page.get_by_label("Job name").fill(f"Batch {batch}")
        await page.get_by_label("CSV file").set_input_files(
            {"name": "recipients.csv", "mimeType": "text/csv",
             "buffer": f"email address,name,ref\n{good},Ada,1\nnot-an-email,Bob,2\n".encode()}
        )  # fmt: skip
        assert await submit(page, "Upload and send") == 400
        assert await page.title() == "Error: Upload a list of recipients – GaaP console – GOV.UK"
        summary = page.locator(".govuk-error-summary")
        assert "1 rows have errors: nothing has been sent" in await summary.inner_text()
        bad_rows = page.get_by_role("table", name="Rows to fix")
        assert await bad_rows.get_by_role("rowheader").all_inner_texts() == ["3"]
        assert good not in await bad_rows.inner_text()
        assert await page.get_by_label("Job name").input_value() == f"Batch {batch}"  # kept for the second try
        await assert_accessible(page)
        await summary.get_by_role("link").click()  # the summary's link takes the reader to the report
        assert page.url.endswith("#bad-rows")

        await page.get_by_label("CSV file").set_input_files(
            {"name": "recipients.csv", "mimeType": "text/csv",
             "buffer": f"email address,name,ref\n{good},Ada,1\n{also_good},Bob,2\n".encode()}
        )  # fmt: skip
        assert await submit(page, "Upload and send") == 200
        assert await page.locator("h1").inner_text() == f"Batch {batch}"
        assert await page.get_by_text("2 messages accepted for sending").count() == 1
        await assert_accessible(page)

        await page.goto(page.url.split("?")[0] + "?lang=cy")
        assert await page.locator("html").get_attribute("lang") == "cy"
        await assert_accessible(page)
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()
