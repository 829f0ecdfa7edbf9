"""Identity's pages in Chromium: a relying party sends the user to sign up (emailed code read back from notify,
password, authenticator app) and later to sign in with the app's code, in English and in Welsh; axe finds no WCAG
2.2 AA violation on any page, and the forms work with JavaScript switched off."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.identity.accounts import totp
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.identity.conftest import IdentityRig
from tests.identity.support import Person, RelyingParty, code_from
from tests.support import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("identity_rig", ["sqlite"], indirect=True)]
SECRET = re.compile(r"([A-Z2-7]{4}(?: [A-Z2-7]{1,4})+)")


async def _context(browser: Browser, rp: RelyingParty, *, javascript: bool = True) -> BrowserContext:
    return await browser.new_context(java_script_enabled=javascript)


@pytest.fixture(scope="module")
def callback_url() -> Iterator[str]:
    """The relying party's redirect URI: a page on loopback (development mode allows http there)."""

    async def callback(request: Request) -> PlainTextResponse:
        return PlainTextResponse("the relying party")

    with serve_in_thread(Starlette(routes=[Route("/callback", callback)])) as url:
        yield url + "/callback"


def _rp(rig: IdentityRig, callback_url: str) -> RelyingParty:
    return rig.register(RelyingParty(f"rp-{uuid.uuid4().hex[:10]}", rig.issuer, redirect_uri=callback_url))


@pytest.fixture
async def rp_context(
    browser: Browser,
    identity_rig: IdentityRig,
    callback_url: str,
) -> AsyncIterator[tuple[RelyingParty, BrowserContext]]:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    context = await _context(browser, rp)
    yield rp, context
    await context.close()


async def _page(context: BrowserContext, expected: str) -> Page:
    page = context.pages[0] if context.pages else await context.new_page()
    assert expected in (await page.title()), await page.title()
    return page


async def _check(page: Page, heading: str) -> None:
    assert await page.locator("h1").first.inner_text() == heading
    await assert_accessible(page)


async def _tokens(rig: IdentityRig, rp: RelyingParty, url: str) -> dict[str, object]:
    form = rp.token_form(code_from(url)["code"])
    answer = await asyncio.to_thread(httpx.post, rig.gateway_url + "/token", data=form)
    assert answer.status_code == 200, answer.text
    jwks = (await asyncio.to_thread(httpx.get, rig.gateway_url + "/.well-known/jwks.json")).json()
    return rp.verify_id_token(answer.json()["id_token"], jwks)


async def test_sign_up_then_sign_in_with_an_authenticator_app(
    identity_rig: IdentityRig,
    rp_context: tuple[RelyingParty, BrowserContext],
    browser: Browser,
) -> None:
    rp, context = rp_context
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params()))
    await _check(page, "Enter your email address to sign in")
    await page.get_by_role("link", name="Create an account").click()
    await _check(page, "Create an account")
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    await page.get_by_label("Email address").fill(email)
    assert await submit(page, "Continue") == 200
    await _check(page, "Check your email")
    await page.get_by_label("Enter the 6-digit code").fill("123")
    assert await submit(page, "Continue") == 400
    await _check(page, "Check your email")  # with its error summary
    code = await asyncio.to_thread(identity_rig.emailed_code, email)
    await page.get_by_label("Enter the 6-digit code").fill(code)
    await submit(page, "Continue")
    await _check(page, "Create your password")
    password = "a browser-made passphrase 12"
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_label("Confirm your password").fill(password)
    await submit(page, "Continue")
    await _check(page, "How do you want to get security codes?")
    await page.get_by_label("Authenticator app for a phone or tablet").check()
    await submit(page, "Continue")
    await _check(page, "Set up an authenticator app")
    secret = SECRET.search(await page.locator("strong").last.inner_text())
    assert secret, await page.content()
    key = secret.group(1).replace(" ", "")
    await page.get_by_label("Enter the 6-digit security code shown in the app").fill(
        totp.code_at(key, int(time.time()) // 30)
    )
    await submit(page, "Continue")
    assert page.url.startswith(rp.redirect_uri), page.url
    claims = await _tokens(identity_rig, rp, page.url)
    assert claims["vot"] == "Cl.Cm"
    # No CSP violation or script error; the 400 of the wrong code and the RP's missing favicon are expected.
    assert [e for e in errors if "Failed to load resource" not in e] == []

    # Later, in another browser, in Welsh: sign in with the password and the app's code.
    person = Person(email, password, key, int(time.time()) // 30)
    welsh = await _context(browser, rp)
    try:
        page = await welsh.new_page()
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params(ui_locales="cy")))
        assert await page.locator("html").get_attribute("lang") == "cy"
        await _check(page, "Rhowch eich cyfeiriad e-bost i fewngofnodi")
        await page.get_by_label("Cyfeiriad e-bost").fill(email)
        await submit(page, "Parhau")
        await _check(page, "Rhowch eich cyfrinair")
        await page.get_by_label("Cyfrinair").fill(password)
        await submit(page, "Parhau")
        await _check(page, "Rhowch y cod diogelwch o'ch ap dilysu")
        await page.get_by_label("Cod diogelwch").fill(person.next_code())
        await submit(page, "Parhau")
        assert page.url.startswith(rp.redirect_uri), page.url
        assert (await _tokens(identity_rig, rp, page.url))["sub"] == claims["sub"]
    finally:
        await welsh.close()


async def test_sign_in_works_without_javascript(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person = await asyncio.to_thread(identity_rig.person)
    context = await _context(browser, rp, javascript=False)
    try:
        page = await context.new_page()
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params()))
        await page.get_by_label("Email address").fill(person.email)
        await submit(page, "Continue")
        await page.get_by_label("Password").fill(person.password)
        await submit(page, "Continue")
        await page.get_by_label("Security code").fill(person.next_code())
        await submit(page, "Continue")
        assert page.url.startswith(rp.redirect_uri), page.url
    finally:
        await context.close()


async def test_error_and_lockout_pages_are_accessible(
    identity_rig: IdentityRig,
    rp_context: tuple[RelyingParty, BrowserContext],
) -> None:
    rp, context = rp_context
    page = await context.new_page()
    await page.goto(
        identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params(redirect_uri="https://x.example/"))
    )
    await _check(page, "Sorry, there is a problem with your request")
    # The developers' details on the error page lead to the error's entry on the documentation page (R5).
    await page.get_by_text("Information for the service's developers").click()
    await page.get_by_role("link", name="What this error means and what to do").click()
    await page.wait_for_url("**/identity/documentation#invalid_request")
    await page.goto(identity_rig.gateway_url + "/identity/signed-out?lang=cy")
    await _check(page, "Rydych wedi allgofnodi")


async def test_the_documentation_page_is_accessible(
    identity_rig: IdentityRig,
    rp_context: tuple[RelyingParty, BrowserContext],
) -> None:
    """The page for relying-party developers, in English and Welsh; its contents list leads to each entry."""
    _, context = rp_context
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(identity_rig.gateway_url + "/identity/documentation")
    await _check(page, "Documentation for developers")
    await page.get_by_role("link", name="invalid_grant").click()  # the contents list's anchor
    assert page.url.endswith("#invalid_grant")
    assert await page.locator("#invalid_grant").is_visible()
    await page.goto(identity_rig.gateway_url + "/identity/documentation?lang=cy")
    assert await page.locator("html").get_attribute("lang") == "cy"
    await _check(page, "Dogfennaeth i ddatblygwyr")
    assert await page.get_by_role("heading", name="Gwallau").count() == 1
    assert errors == []
