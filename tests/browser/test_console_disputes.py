"""A disputed payment on the console's payment page in Chromium: the admin finds the payment and reads its lost
dispute, with no refund offered; axe finds no WCAG 2.2 AA violation, in English or Welsh, and the CSP reports
nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import Browser

from tests.browser.test_console_browser import _follow
from tests.browser.test_console_notify_pay import _signed_in_admin
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.gateway.console.conftest import ConsoleRig
from tests.gateway.console.test_payment_disputes import disputed_payment

pytestmark = pytest.mark.browser


async def test_admin_reads_a_lost_dispute(browser: Browser, console_rig: ConsoleRig) -> None:
    reference = f"BD-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(disputed_payment, console_rig, reference, 3)
    context, page = await _signed_in_admin(browser, console_rig)
    errors = console_errors(page)
    try:
        await _follow(page, "link", "Payments")
        await page.get_by_label("Account").select_option("test")
        await page.get_by_label("Reference").fill(reference)
        assert await submit(page, "Filter") == 200
        await _follow(page, "link", reference)
        assert await page.get_by_role("heading", name="Dispute").count() == 1
        assert await page.get_by_text("Fraudulent", exact=True).count() == 1
        assert await page.get_by_text("£20.00", exact=True).count() == 1
        assert await page.get_by_role("button", name="Refund this payment").count() == 0
        await assert_accessible(page)

        await page.goto(page.url.split("?")[0] + "?mode=test&lang=cy")
        assert await page.get_by_role("heading", name="Anghydfod").count() == 1
        assert await page.get_by_text("Wedi colli", exact=True).count() == 1
        await assert_accessible(page)
        assert errors == []
    finally:
        await context.close()
