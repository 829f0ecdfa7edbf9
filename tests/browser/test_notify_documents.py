"""A recipient's way from an email's link to the file (notify spec §12) in a real browser without JavaScript, through
the gateway: the landing page, the email address check with its errors, the download page and the file itself; in
English and Welsh, and the "no longer available" and unsubscribe pages too; each page passes axe's WCAG 2.2 AA
rules and raises no console error (CSP included)."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from notifications_python_client.utils import prepare_upload
from playwright.async_api import Browser, BrowserContext, Page

from gaap.pages import ensure_assets
from services.notify.documents.service import b64_uuid
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.notify.delivery.support import client
from tests.notify.documents.rig import FilesRig

pytestmark = pytest.mark.browser

CSV = b"name,amount\nAda,12.50\n"
TO = "ada.lovelace@example.gov.uk"
STATUS = {400: "Bad Request", 410: "Gone"}


async def new_context(browser: Browser, *, javascript: bool) -> BrowserContext:
    ensure_assets()
    ctx = await browser.new_context(java_script_enabled=javascript, accept_downloads=True)
    ctx.set_default_timeout(10_000)
    return ctx


@pytest.fixture
async def no_js(browser: Browser) -> AsyncIterator[BrowserContext]:
    """The journey itself: pages must work without JavaScript."""
    ctx = await new_context(browser, javascript=False)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """For axe, which runs as a script in the page."""
    ctx = await new_context(browser, javascript=True)
    try:
        yield ctx
    finally:
        await ctx.close()


def file_link(rig: FilesRig, **options: object) -> str:
    upload = prepare_upload(io.BytesIO(CSV), filename="accounts.csv", **options)
    sent = client(rig.rig, "test").send_email_notification(
        TO, rig.templates["file"], {"name": "Ada", "link_to_file": upload}
    )
    found = re.search(r"https?://\S+/d/\S+\?key=[A-Za-z0-9_-]+", sent["content"]["body"])
    assert found is not None
    return found.group(0)


async def check(
    page: Page, errors: list[str], heading: str, lang: str = "en", *, axe: bool = True, status: int = 200
) -> None:
    assert await page.locator("h1").first.inner_text() == heading
    assert await page.locator("html").get_attribute("lang") == lang
    if axe:
        await assert_accessible(page)
    if status >= 400:  # the browser reports the page's own status as a console error
        errors.remove(f"Failed to load resource: the server responded with a status of {status} ({STATUS[status]})")
    assert errors == []


async def journey(context: BrowserContext, rig: FilesRig, *, axe: bool) -> Page:
    """From the link to the download page, with a wrong address first; each page checked (axe only where scripts
    run)."""
    link = await asyncio.to_thread(file_link, rig)
    page = await context.new_page()
    errors = console_errors(page)

    response = await page.goto(link)
    assert response is not None and response.status == 200
    await check(page, errors, "You have a file to download", axe=axe)
    assert await page.title() == "You have a file to download – GOV.UK"

    async with page.expect_navigation():
        await page.get_by_role("button", name="Continue").click()
    await check(page, errors, "Confirm your email address", axe=axe)

    await page.get_by_label("Email address").fill("someone.else@example.gov.uk")
    assert await submit(page, "Continue") == 400
    await check(page, errors, "Confirm your email address", axe=axe, status=400)
    assert await page.title() == "Error: Confirm your email address – GOV.UK"
    summary = page.locator(".govuk-error-summary")
    assert "This is not the email address the file was sent to" in await summary.inner_text()

    await page.get_by_label("Email address").fill(TO)
    assert await submit(page, "Continue") == 200
    await check(page, errors, "Download your file", axe=axe)
    return page


async def test_every_download_page_passes_axe(
    context: BrowserContext,
    files_rig: FilesRig,
) -> None:
    await journey(context, files_rig, axe=True)


async def test_from_the_link_to_the_file_without_javascript(
    no_js: BrowserContext,
    files_rig: FilesRig,
) -> None:
    page = await journey(no_js, files_rig, axe=False)

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name=re.compile("Download this CSV file")).click()
    download = await waiting.value
    assert download.suggested_filename == "accounts.csv"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == CSV


async def test_the_pages_in_welsh_and_when_the_file_has_gone(
    context: BrowserContext,
    files_rig: FilesRig,
) -> None:
    link = await asyncio.to_thread(file_link, files_rig, confirm_email_before_download=False)
    page = await context.new_page()
    errors = console_errors(page)

    await page.goto(link + "&lang=cy")
    await check(page, errors, "Mae gennych ffeil i’w lawrlwytho", "cy")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Parhau").click()
    await check(page, errors, "Lawrlwythwch eich ffeil", "cy")

    gone = link.split("?key=")[0][:-22] + b64_uuid(uuid.uuid4()) + "?key=" + link.split("?key=")[1]
    response = await page.goto(gone)
    assert response is not None and response.status == 410
    await check(page, errors, "Ddim ar gael mwyach", "cy", status=410)
    await page.goto(gone + "&lang=en")
    await check(page, errors, "No longer available", status=410)


async def test_the_unsubscribe_pages(
    context: BrowserContext,
    files_rig: FilesRig,
) -> None:
    sent = await asyncio.to_thread(
        client(files_rig.rig, "live").send_email_notification,
        "someone@example.gov.uk",
        files_rig.templates["newsletter"],
        {"name": "Ada"},
    )
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(sent["content"]["one_click_unsubscribe_url"])
    await check(page, errors, "Unsubscribe from these emails")
    assert await submit(page, "Unsubscribe") == 200
    assert await page.locator("h1").first.inner_text() == "You have unsubscribed"
    await assert_accessible(page)
    assert errors == []
