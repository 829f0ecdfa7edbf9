"""The account page in Chromium (spec §9.6): changing the email address, with the code sent to the new address, and
the password page with a wrong current password, in English then in Welsh; the proven identity viewed, then deleted
in Welsh. axe finds no WCAG 2.2 AA violation on any page, the error summaries and the success banners included."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page

from tests.browser.test_identity_pages import _check, _rp, callback_url  # noqa: F401  (fixture)
from tests.browser.test_identity_password_reset import _code
from tests.browser.test_pages_browser import submit
from tests.identity.conftest import IdentityRig
from tests.identity.support import Person, RelyingParty
from tests.identity.test_account_changes import prove_s1

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("identity_rig", ["sqlite"], indirect=True)]

TEXTS = {
    "en": {
        "email": "Email address", "password": "Password", "code": "Security code", "continue": "Continue",
        "account": "Your account", "change": "Change email address", "heading": "Change your email address",
        "new": "New email address", "send": "Send the code", "check": "Check your email",
        "enter": "Enter the 6-digit code", "changed": "Your email address has been changed.",
        "change password": "Change password", "password heading": "Change your password",
        "current": "Current password",
    },
    "cy": {
        "email": "Cyfeiriad e-bost", "password": "Cyfrinair", "code": "Cod diogelwch", "continue": "Parhau",
        "account": "Eich cyfrif", "change": "Newid cyfeiriad e-bost", "heading": "Newid eich cyfeiriad e-bost",
        "new": "Cyfeiriad e-bost newydd", "send": "Anfon y cod", "check": "Gwiriwch eich e-bost",
        "enter": "Rhowch y cod 6 digid", "changed": "Mae eich cyfeiriad e-bost wedi cael ei newid.",
        "change password": "Newid cyfrinair", "password heading": "Newid eich cyfrinair",
        "current": "Cyfrinair presennol",
    },
}  # fmt: skip


async def to_account_page(page: Page, rig: IdentityRig, rp: RelyingParty, person: Person, language: str) -> None:
    """Sign in at `Cl.Cm` through the pages in `language`, then open the account page."""
    text = TEXTS[language]
    await page.goto(rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params(ui_locales=language)))
    await page.get_by_label(text["email"]).fill(person.email)
    await submit(page, text["continue"])
    await page.get_by_label(text["password"], exact=True).fill(person.password)
    await submit(page, text["continue"])
    await page.get_by_label(text["code"]).fill(person.next_code())
    await submit(page, text["continue"])
    assert page.url.startswith(rp.redirect_uri), page.url
    await page.goto(rig.gateway_url + "/identity/account")
    await _check(page, text["account"])


async def test_change_the_email_address_in_english_then_in_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    for language, text in TEXTS.items():
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await to_account_page(page, identity_rig, rp, person, language)
            await page.get_by_role("link", name=text["change"]).click()
            await _check(page, text["heading"])
            await page.get_by_label(text["new"]).fill(person.email)
            assert await submit(page, text["send"]) == 400
            await _check(page, text["heading"])  # with its error summary: the address already in use
            new = f"{language}-{uuid.uuid4().hex[:8]}@example.com"
            await page.get_by_label(text["new"]).fill(new)
            await submit(page, text["send"])
            await _check(page, text["check"])
            await page.get_by_label(text["enter"]).fill(await _code(identity_rig, new, 1))
            await submit(page, text["continue"])
            await _check(page, text["account"])
            assert text["changed"] in await page.locator(".govuk-notification-banner").inner_text()
            assert new in await page.locator(".govuk-summary-list").inner_text()
            person.email = new
            await page.get_by_role("link", name=text["change password"]).click()
            await _check(page, text["password heading"])
            await page.get_by_label(text["current"]).fill("not the password")
            assert await submit(page, text["password heading"]) == 400
            await _check(page, text["password heading"])  # with its error summary
        finally:
            await context.close()


async def test_view_then_delete_the_proven_identity_in_english_and_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    await asyncio.to_thread(prove_s1, identity_rig, person)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await to_account_page(page, identity_rig, rp, person, "en")
        await page.get_by_role("link", name="View proven identity").click()
        await _check(page, "Your proven identity")
        assert "Ada Testwell" in await page.locator(".govuk-summary-list").inner_text()
        await page.goto(identity_rig.gateway_url + "/identity/account/proven-identity?lang=cy")
        await _check(page, "Eich hunaniaeth wedi'i phrofi")
        await submit(page, "Dileu eich hunaniaeth wedi'i phrofi")
        await _check(page, "Eich cyfrif")
        banner = await page.locator(".govuk-notification-banner").inner_text()
        assert "Mae eich hunaniaeth wedi'i phrofi wedi cael ei dileu." in banner
    finally:
        await context.close()


async def test_delete_the_account_in_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await to_account_page(page, identity_rig, rp, person, "cy")
        await page.get_by_role("link", name="Dileu eich cyfrif").click()
        await _check(page, "Dileu eich cyfrif")
        await page.get_by_label("Rhowch eich cyfrinair").fill("not the password")
        assert await submit(page, "Dileu eich cyfrif") == 400
        await _check(page, "Dileu eich cyfrif")  # with its error summary
        await page.get_by_label("Rhowch eich cyfrinair").fill(person.password)
        await submit(page, "Dileu eich cyfrif")
        await _check(page, "Mae eich cyfrif wedi cael ei ddileu")
    finally:
        await context.close()
