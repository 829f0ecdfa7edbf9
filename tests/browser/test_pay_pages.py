"""Pay's payment pages in Chromium, through the real gateway (pay spec §13): payments are created with a real Pay
test key, and the payer follows `next_url` on the gateway's origin as a citizen would. Journeys: the success card
by keyboard alone, 3-D Secure and the payer's cancel without JavaScript, a declined card, Welsh; axe's WCAG 2.2 AA
rules on every payer page in English and Welsh (axe needs JavaScript, so it runs in the journeys that have it). The
service's `return_url` is a page served on loopback (a test
account may use `http://`), so the journeys end at the service.

The rig is pay's own (`tests/pay/conftest.py`), on SQLite only here: the page tests under `tests/pay/pages` run on
both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from gaap.db.engine import Database
from gaap.pages import ensure_assets
from services.pay.payments import tasks
from tests.browser.conftest import run_asgi
from tests.browser.test_pages_browser import assert_accessible, console_errors
from tests.pay.conftest import PayRig, new_payment, pay_db, worker_ctx  # noqa: F401
from tests.pay.pages.test_journeys import slow_provider
from tests.pay.payments.test_expiry import age

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("pay_rig", ["sqlite"], indirect=True)]

SERVICE_PAGE = "<!doctype html><html lang='en'><title>Service</title><h1>Back at the service</h1></html>"


async def service_page(scope: Scope, receive: Receive, send: Send) -> None:
    """The department's own site, where `return_url` points."""
    await HTMLResponse(SERVICE_PAGE)(scope, receive, send)


@pytest.fixture(scope="module")
def return_url() -> Iterator[str]:
    with run_asgi(service_page, lifespan="off") as url:
        yield f"{url}/done"


@dataclass
class Department:
    """The main service's Pay test key, through the gateway, as a department calls; its payments come back to
    `return_url`."""

    api: httpx.Client
    return_url: str

    def payment(self, **overrides: Any) -> dict[str, Any]:
        return new_payment(self.api, return_url=self.return_url, **overrides)

    def state(self, payment: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = self.api.get(f"/v1/payments/{payment['payment_id']}").json()
        return body


@pytest.fixture
def department(pay_rig: PayRig, return_url: str) -> Department:
    ensure_assets()
    return Department(pay_rig.gateway(pay_rig.main.keys["test"]), return_url)


async def new_context(browser: Browser, *, javascript: bool = True) -> BrowserContext:
    context = await browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(10_000)  # a missing element fails the test in seconds, not at the suite's timeout
    return context


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await new_context(browser)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def no_js_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await new_context(browser, javascript=False)
    try:
        yield ctx
    finally:
        await ctx.close()


async def open_payment(context: BrowserContext, payment: dict[str, Any]) -> Page:
    page = await context.new_page()
    response = await page.goto(payment["_links"]["next_url"]["href"])
    assert response is not None and response.status == 200
    return page


async def fill_card(page: Page, number: str, *, welsh: bool = False) -> None:
    labels = (
        [
            "Rhif cerdyn",
            "Mis",
            "Blwyddyn",
            "Enw ar y cerdyn",
            "Cod diogelwch y cerdyn",
            "Rhif neu enw’r adeilad a heol",
            "Tref neu ddinas",
            "Cod post",
            "E-bost",
        ]
        if welsh
        else [
            "Card number",
            "Month",
            "Year",
            "Name on card",
            "Card security code",
            "Building number or name and street",
            "Town or city",
            "Postcode",
            "Email",
        ]
    )
    values = [number, "12", "39", "Ada Lovelace", "739", "1 Example Street", "Cardiff", "CF10 1AA", "ada@example.org"]
    for label, value in zip(labels, values, strict=True):
        await page.get_by_label(label, exact=True).fill(value)


async def press(page: Page, button: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def tab_to(page: Page, target: str) -> None:
    """Press Tab until the element matching the CSS selector `target` has the focus."""
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.locator(target).evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


async def test_pay_with_the_success_card_by_keyboard_alone(context: BrowserContext, department: Department) -> None:
    payment = department.payment()
    page = await open_payment(context, payment)
    errors = console_errors(page)
    session = next(c for c in await context.cookies() if c["name"] == "pay_session")
    # Chromium keeps a Secure cookie on http://127.0.0.1, so the attributes are the same as in production.
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Lax")
    assert await page.title() == "Enter card details – Pay – GOV.UK"
    await assert_accessible(page)

    await tab_to(page, "#cardNo")
    for text in ["4444 3333 2222 1111", "12", "39", "Ada Lovelace", "739", "1 Example Street", "", "Cardiff"]:
        await page.keyboard.type(text)
        await page.keyboard.press("Tab")
    await page.keyboard.type("CF10 1AA")
    await tab_to(page, "#email")
    await page.keyboard.type("ada@example.org")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.get_by_role("heading", name="Confirm your payment").is_visible()
    await assert_accessible(page)

    await tab_to(page, "form[action$='/confirm'] button")
    async with page.expect_navigation(url=department.return_url):
        await page.keyboard.press("Enter")
    assert await page.get_by_role("heading", name="Back at the service").is_visible()
    assert errors == []
    assert department.state(payment)["state"] == {"status": "success", "finished": True}


async def test_three_d_secure_without_javascript(no_js_context: BrowserContext, department: Department) -> None:
    payment = department.payment()
    page = await open_payment(no_js_context, payment)
    await fill_card(page, "4000002500003155")
    await press(page, "Continue")
    assert await page.get_by_role("heading", name="Confirm it’s you").is_visible()
    assert await page.get_by_text("Test bank", exact=True).is_visible()

    await press(page, "Authenticate")
    assert await page.get_by_role("heading", name="Confirm your payment").is_visible()
    async with page.expect_navigation(url=department.return_url):
        await page.get_by_role("button", name="Confirm payment").click()
    got = department.state(payment)
    assert got["state"]["status"] == "success" and got["authorisation_summary"]["three_d_secure"]["required"]


async def test_a_declined_card_continues_back_to_the_service(context: BrowserContext, department: Department) -> None:
    payment = department.payment()
    page = await open_payment(context, payment)
    await fill_card(page, "4000000000000002")
    await press(page, "Continue")
    assert await page.get_by_role("heading", name="Your payment has been declined").is_visible()
    await assert_accessible(page)
    async with page.expect_navigation(url=department.return_url):
        await page.get_by_role("button", name="Continue").click()
    assert department.state(payment)["state"]["code"] == "P0010"


async def test_the_payer_cancels_without_javascript(no_js_context: BrowserContext, department: Department) -> None:
    payment = department.payment()
    page = await open_payment(no_js_context, payment)
    await press(page, "Cancel payment")
    assert await page.get_by_role("heading", name="Your payment has been cancelled").is_visible()
    assert department.state(payment)["state"]["code"] == "P0030"


async def test_a_welsh_payment_from_errors_to_success(context: BrowserContext, department: Department) -> None:
    payment = department.payment(language="cy")
    page = await open_payment(context, payment)
    assert await page.locator("html").get_attribute("lang") == "cy"
    await press(page, "Parhau")
    assert (await page.title()).startswith("Gwall: Rhowch fanylion y cerdyn")
    summary = page.get_by_role("alert")
    assert await summary.get_by_role("link", name="Rhowch rif cerdyn dilys").is_visible()
    await summary.get_by_role("link", name="Rhowch rif cerdyn dilys").click()
    assert await page.evaluate("document.activeElement.id") == "cardNo"
    await assert_accessible(page)

    await fill_card(page, "4444333322221111", welsh=True)
    await press(page, "Parhau")
    assert await page.get_by_role("heading", name="Cadarnhau eich taliad").is_visible()
    async with page.expect_navigation(url=department.return_url):
        await page.get_by_role("button", name="Cadarnhau’r taliad").click()
    assert department.state(payment)["state"]["status"] == "success"


@pytest.mark.parametrize("language", ["en", "cy"])
async def test_every_payer_page_passes_axe(
    browser: Browser,
    pay_rig: PayRig,
    department: Department,
    pay_db: Database,  # noqa: F811  (the imported fixture)
    worker_ctx: dict[str, Any],  # noqa: F811  (the imported fixture)
    language: str,
) -> None:
    welsh = language == "cy"
    continue_, cancel = ("Parhau", "Canslo’r taliad") if welsh else ("Continue", "Cancel payment")
    seen: list[str] = []

    async def check(page: Page) -> None:
        assert await page.locator("html").get_attribute("lang") == language
        seen.append(await page.title())
        await assert_accessible(page)

    context = await new_context(browser)
    try:
        # The card page, then with every error.
        page = await open_payment(context, department.payment(language=language))
        await check(page)
        await press(page, continue_)
        await check(page)

        # A slow provider's waiting page; then 3-D Secure; then the confirm page.
        payment = department.payment(language=language)
        page = await open_payment(context, payment)
        await fill_card(page, "4000002500003155", welsh=welsh)
        with slow_provider(pay_rig, delay_ms=1500):
            await press(page, continue_)
            await check(page)  # auth_waiting
            for _ in range(50):  # "Check again" until the provider has answered
                if page.url.endswith("/3ds_required"):
                    break
                await asyncio.sleep(0.1)
                async with page.expect_navigation():
                    await page.get_by_role("button", name="Gwirio eto" if welsh else "Check again").click()
        await check(page)  # the test bank
        await press(page, "Dilysu" if welsh else "Authenticate")
        await check(page)  # confirm

        # Outcomes: declined, provider error, cancelled by the payer, cancelled by the service, expired, paid.
        for number in ("4000000000000002", "4000000000000119"):
            page = await open_payment(context, department.payment(language=language))
            await fill_card(page, number, welsh=welsh)
            await press(page, continue_)
            await check(page)
        page = await open_payment(context, department.payment(language=language))
        await press(page, cancel)
        await check(page)
        cancelled = department.payment(language=language)
        page = await open_payment(context, cancelled)
        department.api.post(f"/v1/payments/{cancelled['payment_id']}/cancel")
        await page.reload()
        await check(page)
        expired = department.payment(language=language)
        page = await open_payment(context, expired)
        await age(pay_db, expired["payment_id"], created=timedelta(minutes=91))
        await tasks.expire_payments(worker_ctx)
        await page.reload()
        await check(page)
        await page.goto(f"{pay_rig.gateway_url}/card_details/{payment['payment_id']}/confirm")
        async with page.expect_navigation(url=department.return_url):
            await page.get_by_role("button", name="Cadarnhau’r taliad" if welsh else "Confirm payment").click()
        await page.goto(f"{pay_rig.gateway_url}/card_details/{payment['payment_id']}")
        await check(page)  # already paid

        # Another browser: the session-expired page, and a used link.
        stranger = await new_context(browser)
        try:
            other = await stranger.new_page()
            await other.goto(f"{pay_rig.gateway_url}/card_details/{payment['payment_id']}")
            await check(other)
            used = department.payment(language=language)
            await open_payment(context, used)
            await other.goto(used["_links"]["next_url"]["href"])
            await check(other)
        finally:
            await stranger.close()
    finally:
        await context.close()
    assert len(seen) == 13, seen


async def test_an_unknown_link_is_the_not_found_page(context: BrowserContext, department: Department) -> None:
    page = await context.new_page()
    response = await page.goto(str(department.api.base_url.join("/secure/not-a-token")))
    assert response is not None and response.status == 404
    assert await page.get_by_role("heading", name="Page not found").is_visible()
    await assert_accessible(page)
