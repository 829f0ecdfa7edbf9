"""The console in Chromium: an admin signs in through identity (password and authenticator app), finds their
service, creates a Pay key (shown once), revokes it after confirming, and signs out of the console and identity.
axe finds no WCAG 2.2 AA violation on any console page, in English or Welsh, and the CSP reports nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.conftest import ConsoleRig

pytestmark = pytest.mark.browser


async def _follow(page: Page, role: str, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role(role, name=name).click()  # type: ignore[arg-type]


async def test_admin_signs_in_creates_and_revokes_a_key(browser: Browser, console_rig: ConsoleRig) -> None:
    admin = await asyncio.to_thread(console_rig.admin)
    context = await browser.new_context()
    page = await context.new_page()
    errors = console_errors(page)
    try:
        await page.goto(f"{console_rig.url}/console")
        assert "/identity/sign-in" in page.url  # no session: identity asks who it is
        await sign_in(page, admin)
        assert page.url == f"{console_rig.url}/console"
        assert await page.locator("h1").inner_text() == "Your services"
        await assert_accessible(page)

        await _follow(page, "link", "Demo service")
        assert await page.locator("h1").inner_text() == "Demo service"
        await assert_accessible(page)
        await _follow(page, "link", "API keys")
        await assert_accessible(page)
        await _follow(page, "button", "Create an API key")
        await assert_accessible(page)
        assert await submit(page, "Continue") == 400  # nothing chosen: the error summary says what to do
        assert await page.title() == "Error: Create an API key – GaaP console – GOV.UK"
        await assert_accessible(page)

        name = f"Browser key {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Pay test key").check()
        await page.get_by_label("Name for this key").fill(name)
        assert await submit(page, "Continue") == 200
        key = await page.locator("#api-key").inner_text()
        assert key.startswith("api_test_")
        await assert_accessible(page)
        async with httpx.AsyncClient() as client:
            used = await client.get(f"{console_rig.url}/v1/payments", headers={"Authorization": f"Bearer {key}"})
        assert used.status_code == 200

        await _follow(page, "link", "Back to API keys")
        assert key not in await page.content()  # shown once
        await _follow(page, "link", f"Revoke {name}")
        assert await page.locator("h1").inner_text() == f"Are you sure you want to revoke ‘{name}’?"
        await assert_accessible(page)
        await submit(page, "Yes, revoke this key")
        assert await page.get_by_text(f"API key ‘{name}’ revoked").count() == 1
        await assert_accessible(page)

        await page.goto(f"{console_rig.url}/console?lang=cy")
        assert await page.locator("h1").inner_text() == "Eich gwasanaethau"
        await assert_accessible(page)
        await page.goto(f"{console_rig.url}/console/status?lang=en")
        await assert_accessible(page)

        await submit(page, "Sign out")
        assert page.url == f"{console_rig.url}/console/signed-out"
        assert await page.locator("h1").inner_text() == "You have signed out"
        await assert_accessible(page)
        await page.goto(f"{console_rig.url}/console")
        assert "/identity/sign-in" in page.url  # signed out of identity too: it asks again
        # Only the form's deliberate 400 is reported; no CSP violation, no script error.
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()
