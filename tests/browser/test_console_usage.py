"""The console's Usage page and sign-in activity in Chromium: an admin finds the page from the service, switches to
the last 30 days of the test account (where a payment just made shows as a bar and in the tables), opens the
numbers day by day, and reads the latest sign-ins to the console's own client. axe finds no WCAG 2.2 AA violation
in English or Welsh, the CSP reports nothing, and without JavaScript the charts and tables are all there."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.test_console_browser import _follow
from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.conftest import ConsoleRig, _add_member

pytestmark = pytest.mark.browser


async def _signed_in(browser: Browser, rig: ConsoleRig, *, javascript: bool = True) -> tuple[BrowserContext, Page]:
    """A new browser context with an admin of the demo service (also on the console's own team) signed in."""
    admin = await asyncio.to_thread(rig.admin)
    await _add_member(rig.gateway_db, rig.console_service_id, admin.email, ["send_messages"])
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    await page.goto(f"{rig.url}/console/services/{rig.demo_service_id}")
    await sign_in(page, admin)
    assert await page.locator("h1").inner_text() == "Demo service"
    return context, page


async def test_admin_reads_usage_and_sign_in_activity(browser: Browser, console_rig: ConsoleRig) -> None:
    await asyncio.to_thread(console_rig.successful_payment, f"BU-{uuid.uuid4().hex[:8]}", 4321)
    context, page = await _signed_in(browser, console_rig)
    errors = console_errors(page)
    try:
        await _follow(page, "link", "Usage and rate limits")
        assert await page.locator("h1").inner_text() == "Usage"
        assert await page.get_by_role("heading", name="Rate limits today").count() == 1
        assert await page.locator("#daily-limits tbody tr").count() == 4
        assert await page.locator("#per-minute tbody tr").count() == 3
        await assert_accessible(page)

        await page.get_by_label("Period").select_option("30")
        await page.get_by_label("Pay account").select_option("test")
        assert await submit(page, "Show") == 200
        assert "days=30" in page.url and "mode=test" in page.url
        chart = page.get_by_role("img", name="Payments created each day")
        assert await chart.count() == 1
        assert await chart.locator("rect").count() >= 1  # today's payment, at least
        await page.get_by_text("Payments day by day").click()
        by_day = page.locator("#payments-by-day")
        assert await by_day.is_visible()
        assert await by_day.locator("tbody tr").count() == 30
        today = by_day.locator("tbody tr").last
        assert int(await today.locator("td").nth(1).inner_text()) >= 1  # succeeded
        assert await page.locator("#messages-by-day tbody tr").count() == 30
        await assert_accessible(page)

        await page.goto(page.url + "&lang=cy")
        assert await page.locator("h1").inner_text() == "Defnydd"
        await assert_accessible(page)
        await page.goto(page.url.replace("lang=cy", "lang=en"))

        await page.goto(f"{console_rig.url}/console/services/{console_rig.console_service_id}/usage")
        await _follow(page, "link", "See the latest sign-ins")
        assert await page.locator("h1").inner_text() == "Sign-in activity"
        first = page.locator("#sign-ins tbody tr").first
        assert "GaaP console" in await first.inner_text()
        assert "@" not in await page.locator("#sign-ins").inner_text()
        await assert_accessible(page)
        await page.goto(page.url + "?lang=cy")
        assert await page.locator("h1").inner_text() == "Gweithgarwch mewngofnodi"
        await assert_accessible(page)
        assert errors == []
    finally:
        await context.close()


async def test_usage_needs_no_javascript(browser: Browser, console_rig: ConsoleRig) -> None:
    await asyncio.to_thread(console_rig.successful_payment, f"BN-{uuid.uuid4().hex[:8]}", 1000)
    context, page = await _signed_in(browser, console_rig, javascript=False)
    try:
        usage = f"{console_rig.url}/console/services/{console_rig.demo_service_id}/usage?days=30&mode=test"
        response = await page.goto(usage)
        assert response is not None and response.status == 200
        assert await page.get_by_role("img", name="Payments created each day").locator("rect").count() >= 1
        await page.get_by_text("Sign-ins day by day").click()  # a native <details>: opens without scripts
        assert await page.locator("#sign-ins-by-day").is_visible()
        assert await page.locator("#sign-ins-by-day tbody tr").count() == 30
    finally:
        await context.close()
