"""A forgotten password in Chromium (spec §9.6): from the password page to a new password, with the emailed code read
back from notify, then the second factor for a `Cl.Cm` request; then the same pages in Welsh for a `Cl` request.
A lost authenticator app replaced, and the fresh security questions that keep a proven identity (passed in English,
failed in Welsh). axe finds no WCAG 2.2 AA violation on any page, error pages included."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page

from services.identity.accounts import totp
from tests.browser.test_identity_pages import SECRET, _check, _rp, _tokens, callback_url  # noqa: F401  (fixture)
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.identity.conftest import CODE_TEMPLATE, IdentityRig
from tests.identity.support import Person
from tests.identity.test_lost_second_factor import give_identity, held
from tests.identity.test_password_reset import code_in, emails_when

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("identity_rig", ["sqlite"], indirect=True)]


async def _code(rig: IdentityRig, email: str, count: int) -> str:
    """The newest code emailed to `email`, once it has had `count` emails (codes go just after the page answers)."""
    emails = await asyncio.to_thread(emails_when, rig, email, count)
    return next(code_in(e) for e in emails if e["subject"] == CODE_TEMPLATE["subject"])


async def _to_password_page(page: Page, email: str, label: str, button: str) -> None:
    await page.get_by_label(label).fill(email)
    await submit(page, button)


async def test_reset_a_forgotten_password_in_english_then_in_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors = console_errors(page)
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params()))
        await _to_password_page(page, person.email, "Email address", "Continue")
        await _check(page, "Enter your password")
        await page.get_by_role("link", name="Forgotten your password?").click()
        await _check(page, "Reset your password")
        assert await page.get_by_label("Email address").input_value() == person.email
        await submit(page, "Send the code")
        await _check(page, "Check your email")
        await page.get_by_label("Enter the 6-digit code").fill("000000")
        assert await submit(page, "Continue") == 400
        await _check(page, "Check your email")  # with its error summary
        await page.get_by_label("Enter the 6-digit code").fill(await _code(identity_rig, person.email, 1))
        await submit(page, "Continue")
        await _check(page, "Create a new password")
        await page.get_by_label("New password", exact=True).fill("password1")
        await page.get_by_label("Confirm your new password").fill("password1")
        assert await submit(page, "Continue") == 400
        await _check(page, "Create a new password")  # the breached password refused
        new_password = "a browser-reset passphrase 8"
        await page.get_by_label("New password", exact=True).fill(new_password)
        await page.get_by_label("Confirm your new password").fill(new_password)
        await submit(page, "Continue")
        await _check(page, "Enter the security code from your authenticator app")  # Cl.Cm still needs it
        await page.get_by_label("Security code").fill(person.next_code())
        await submit(page, "Continue")
        assert page.url.startswith(rp.redirect_uri), page.url
        assert (await _tokens(identity_rig, rp, page.url))["vot"] == "Cl.Cm"
        assert [e for e in errors if "Failed to load resource" not in e] == []
    finally:
        await context.close()

    welsh = await browser.new_context()
    try:
        page = await welsh.new_page()
        params = rp.authorize_params(ui_locales="cy", vtr='["Cl"]')
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(params))
        await _to_password_page(page, person.email, "Cyfeiriad e-bost", "Parhau")
        await page.get_by_role("link", name="Wedi anghofio eich cyfrinair?").click()
        await _check(page, "Ailosod eich cyfrinair")
        await submit(page, "Anfon y cod")
        await _check(page, "Gwiriwch eich e-bost")
        # The emails so far: the first code, the notice of the first reset, and now the second code.
        await page.get_by_label("Rhowch y cod 6 digid").fill(await _code(identity_rig, person.email, 3))
        await submit(page, "Parhau")
        await _check(page, "Creu cyfrinair newydd")
        await page.get_by_label("Cyfrinair newydd", exact=True).fill("another reset passphrase 3")
        await page.get_by_label("Cadarnhewch eich cyfrinair newydd").fill("another reset passphrase 3")
        await submit(page, "Parhau")
        assert page.url.startswith(rp.redirect_uri), page.url
        assert (await _tokens(identity_rig, rp, page.url))["vot"] == "Cl"
    finally:
        await welsh.close()


async def test_a_leaked_password_is_changed_before_the_sign_in_goes_on_in_english_and_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    for language, texts in [
        ("en", ("Email address", "Continue", "Password", "You need to change your password", "New password")),
        ("cy", ("Cyfeiriad e-bost", "Parhau", "Cyfrinair", "Mae angen i chi newid eich cyfrinair", "Cyfrinair newydd")),
    ]:
        email_label, button, password_label, heading, new_label = texts
        change = "Change your password" if language == "en" else "Newid eich cyfrinair"
        person: Person = await asyncio.to_thread(identity_rig.person, "password1234")  # on the bundled list
        context = await browser.new_context()
        try:
            page = await context.new_page()
            params = rp.authorize_params(ui_locales=language, vtr='["Cl"]')
            await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(params))
            await _to_password_page(page, person.email, email_label, button)
            await page.get_by_label(password_label, exact=True).fill(person.password)
            await submit(page, button)
            await _check(page, heading)
            await page.get_by_label(new_label, exact=True).fill("short")
            assert await submit(page, change) == 400
            await _check(page, heading)  # with its error summary
            chosen = f"a new unleaked passphrase {language} 4"
            await page.get_by_label(new_label, exact=True).fill(chosen)
            await page.locator("input[name=confirm]").fill(chosen)
            await submit(page, change)
            assert page.url.startswith(rp.redirect_uri), page.url
            assert (await _tokens(identity_rig, rp, page.url))["vot"] == "Cl"
        finally:
            await context.close()


async def test_replace_a_lost_authenticator_app_in_english_then_in_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    english = ("Email address", "Continue", "Password", "I cannot use my authenticator app",
               "Change how you get security codes", "Send the code", "Check your email", "Enter the 6-digit code",
               "Authenticator app for a phone or tablet", "Set up an authenticator app",
               "Enter the 6-digit security code shown in the app")  # fmt: skip
    welsh = ("Cyfeiriad e-bost", "Parhau", "Cyfrinair", "Ni allaf ddefnyddio fy ap dilysu",
             "Newid sut rydych yn cael codau diogelwch", "Anfon y cod", "Gwiriwch eich e-bost", "Rhowch y cod 6 digid",
             None, None, None)  # fmt: skip
    sent = 0
    for language, texts in (("en", english), ("cy", welsh)):
        email_label, button, password_label, lost, heading, send, check, code_label, app, app_heading, app_code = texts
        context = await browser.new_context()
        try:
            page = await context.new_page()
            params = rp.authorize_params(ui_locales=language)
            await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(params))
            await _to_password_page(page, person.email, email_label, button)
            await page.get_by_label(password_label, exact=True).fill(person.password)
            await submit(page, button)
            await page.get_by_role("link", name=lost).click()
            await _check(page, heading)
            await submit(page, send)
            await _check(page, check)
            sent += 1
            await page.get_by_label(code_label).fill("000000")
            assert await submit(page, button) == 400
            await _check(page, check)  # with its error summary
            await page.get_by_label(code_label).fill(await _code(identity_rig, person.email, 2 * sent - 1))
            await submit(page, button)
            if app is None:  # the enrolment pages that follow are walked in Welsh with account creation
                assert page.url.endswith("/identity/recover/second-factor"), page.url
                await assert_accessible(page)
                break
            await _check(page, "How do you want to get security codes?")
            await page.get_by_label(app).check()
            await submit(page, button)
            await _check(page, app_heading)
            found = SECRET.search(await page.locator("strong").last.inner_text())
            assert found, await page.content()
            key = found.group(1).replace(" ", "")
            await page.get_by_label(app_code).fill(totp.code_at(key, int(time.time()) // 30))
            await submit(page, button)
            assert page.url.startswith(rp.redirect_uri), page.url
            assert (await _tokens(identity_rig, rp, page.url))["vot"] == "Cl.Cm"
            person.totp_secret, person.last_counter = key, int(time.time()) // 30
        finally:
            await context.close()


async def _to_the_identity_choice(page: Page, rig: IdentityRig, person: Person, texts: tuple[str, ...]) -> None:
    """From the email page to the proven-identity step of replacing a lost app, in the page's language."""
    email_label, button, password_label, lost, send, code_label, heading = texts
    await _to_password_page(page, person.email, email_label, button)
    await page.get_by_label(password_label, exact=True).fill(person.password)
    await submit(page, button)
    await page.get_by_role("link", name=lost).click()
    await submit(page, send)
    await page.get_by_label(code_label).fill(await _code(rig, person.email, 1))
    await submit(page, button)
    await _check(page, heading)


async def test_keep_a_proven_identity_with_security_questions_in_english_and_lose_it_in_welsh(
    identity_rig: IdentityRig,
    browser: Browser,
    callback_url: str,  # noqa: F811
) -> None:
    """The fresh KBV check of a lost second factor (spec §9.6): passed in English (the identity is kept, the new app
    set up), failed in Welsh (only the deletion is left); axe on every page, the error pages included."""
    rp = await asyncio.to_thread(_rp, identity_rig, callback_url)
    person: Person = await asyncio.to_thread(identity_rig.person)
    await asyncio.to_thread(give_identity, identity_rig, person, "S1", 2, "M1A")
    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors = console_errors(page)
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params()))
        english = ("Email address", "Continue", "Password", "I cannot use my authenticator app", "Send the code",
                   "Enter the 6-digit code", "You have proved your identity")  # fmt: skip
        await _to_the_identity_choice(page, identity_rig, person, english)
        assert await submit(page, "Continue") == 400
        await _check(page, "You have proved your identity")  # "Select what you want to do"
        await page.get_by_label("Answer security questions to keep my proven identity").check()
        await submit(page, "Continue")
        await _check(page, "Answer security questions")
        await page.get_by_label("Sandbox Bank").check()
        assert await submit(page, "Continue") == 400
        await _check(page, "Answer security questions")  # "Answer every question"
        for answer in ("Sandbox Bank", "2015", "£100 to £199"):
            await page.get_by_label(answer).check()
        await submit(page, "Continue")
        await _check(page, "How do you want to get security codes?")
        await page.get_by_label("Authenticator app for a phone or tablet").check()
        await submit(page, "Continue")
        found = SECRET.search(await page.locator("strong").last.inner_text())
        assert found, await page.content()
        await page.get_by_label("Enter the 6-digit security code shown in the app").fill(
            totp.code_at(found.group(1).replace(" ", ""), int(time.time()) // 30)
        )
        await submit(page, "Continue")
        assert page.url.startswith(rp.redirect_uri), page.url
        assert (await _tokens(identity_rig, rp, page.url))["vot"] == "Cl.Cm"
        assert [e for e in errors if "Failed to load resource" not in e] == []
    finally:
        await context.close()
    assert (await asyncio.to_thread(held, identity_rig, person))[0] == (2, "M1A")

    welsh_person: Person = await asyncio.to_thread(identity_rig.person)
    await asyncio.to_thread(give_identity, identity_rig, welsh_person, "S2", 2, "M1B")
    welsh = await browser.new_context()
    try:
        page = await welsh.new_page()
        await page.goto(identity_rig.gateway_url + "/authorize?" + urlencode(rp.authorize_params(ui_locales="cy")))
        texts = ("Cyfeiriad e-bost", "Parhau", "Cyfrinair", "Ni allaf ddefnyddio fy ap dilysu", "Anfon y cod",
                 "Rhowch y cod 6 digid", "Rydych wedi profi eich hunaniaeth")  # fmt: skip
        await _to_the_identity_choice(page, identity_rig, welsh_person, texts)
        await page.get_by_label("Ateb cwestiynau diogelwch i gadw fy hunaniaeth wedi'i phrofi").check()
        await submit(page, "Parhau")
        await _check(page, "Atebwch gwestiynau diogelwch")
        for question in ("KBV-BANK", "KBV-MOVE-YEAR", "KBV-LOAN"):  # all wrong: `V01`
            await page.locator(f'input[name="{question}"][value="None of these"]').check()
        await submit(page, "Parhau")
        await _check(page, "Rydych wedi profi eich hunaniaeth")
        assert "Nid oedd eich atebion" in await page.locator("main").inner_text()
        await submit(page, "Dileu fy hunaniaeth wedi'i phrofi a pharhau")
        assert page.url.endswith("/identity/recover/second-factor"), page.url
        await assert_accessible(page)
    finally:
        await welsh.close()
