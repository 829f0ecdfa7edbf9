"""Text messages as the second factor in Chromium (spec §9.1, §9.2): a relying party sends the user to sign up, they
choose text messages, type their mobile number, and prove it with the code notify texts them (read from the fake SMS
provider); later, in Welsh, they sign in at `Cl.Cm` with a texted code after asking for it again. axe finds no WCAG
2.2 AA violation on any page."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page

from tests.browser.test_identity_pages import _check, _rp, _tokens, callback_url  # noqa: F401  (fixture)
from tests.browser.test_pages_browser import console_errors, submit
from tests.identity.conftest import IdentityRig, texting  # noqa: F401  (fixtures)
from tests.identity.support import Phone
from tests.notify.conftest import SmsFake

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("identity_rig", ["sqlite"], indirect=True)]


async def _code(page: Page, phone: Phone, label: str) -> None:
    await page.get_by_label(label).fill(await asyncio.to_thread(phone.code))


async def test_sign_up_with_a_phone_then_sign_in_with_a_texted_code(
    identity_rig: IdentityRig,
    texting: SmsFake,  # noqa: F811
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    phone = Phone.new(texting.store)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors = console_errors(page)
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params()))
        await page.get_by_role("link", name="Create an account").click()
        email = f"texted-{uuid.uuid4().hex[:8]}@example.com"
        await page.get_by_label("Email address").fill(email)
        await submit(page, "Continue")
        await page.get_by_label("Enter the 6-digit code").fill(
            await asyncio.to_thread(identity_rig.emailed_code, email)
        )
        await submit(page, "Continue")
        password = "a browser-made texted passphrase 4"
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_label("Confirm your password").fill(password)
        await submit(page, "Continue")
        await _check(page, "How do you want to get security codes?")
        assert await submit(page, "Continue") == 400  # nothing chosen: the error summary
        await _check(page, "How do you want to get security codes?")
        await page.get_by_label("Text message to a mobile phone").check()
        await submit(page, "Continue")
        await _check(page, "Enter your mobile phone number")
        await page.get_by_label("UK mobile phone number").fill("020 7946 0000")
        assert await submit(page, "Continue") == 400
        await _check(page, "Enter your mobile phone number")  # with its error summary
        await page.get_by_label("UK mobile phone number").fill(phone.number)
        await submit(page, "Continue")
        await _check(page, "Check your phone")
        await _code(page, phone, "Enter the 6-digit code")
        await submit(page, "Continue")
        assert page.url.startswith(rp.redirect_uri), page.url
        claims = await _tokens(identity_rig, rp, page.url)
        assert claims["vot"] == "Cl.Cm"
        assert [e for e in errors if "Failed to load resource" not in e] == []
    finally:
        await context.close()

    welsh = await browser.new_context()
    try:
        page = await welsh.new_page()
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params(ui_locales="cy")))
        await page.get_by_label("Cyfeiriad e-bost").fill(email)
        await submit(page, "Parhau")
        await page.get_by_label("Cyfrinair").fill(password)
        await submit(page, "Parhau")
        await _check(page, "Gwiriwch eich ffôn")
        await asyncio.to_thread(phone.code)  # the first code; the user asks for another
        await page.get_by_role("link", name="Anfon y cod eto").click()
        await _check(page, "Cael cod diogelwch newydd")
        await submit(page, "Anfon cod newydd")
        await _check(page, "Gwiriwch eich ffôn")
        await _code(page, phone, "Cod diogelwch")
        await submit(page, "Parhau")
        assert page.url.startswith(rp.redirect_uri), page.url
        assert (await _tokens(identity_rig, rp, page.url))["sub"] == claims["sub"]
    finally:
        await welsh.close()
