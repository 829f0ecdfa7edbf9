"""Identity proving in Chromium (issue 6): a relying party that does not use Authlib asks for `Cl.Cm.P2`; a person
signs in with their authenticator app and proves their identity through the real proving pages (document, address,
knowledge-based questions), in English with a passport and in Welsh with a driving licence. axe finds no WCAG 2.2
AA violation on any page, and the relying party verifies the ID token and the core identity JWT and reads userinfo."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.async_api import Browser, Page

from tests.browser.test_identity_pages import callback_url  # noqa: F401  (fixture)
from tests.browser.test_pages_browser import assert_accessible, console_errors, submit
from tests.identity.conftest import IdentityRig
from tests.identity.support import Person, RelyingParty
from tests.identity.test_proving_journeys import (
    ALL_CLAIMS,
    CORE,
    DOCUMENT_FIELDS,
    SANDBOX,
    VOCAB,
    tokens_and_userinfo,
    verify_core_identity,
)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("identity_rig", ["sqlite"], indirect=True)]
KBV = ("KBV-BANK", "KBV-MOVE-YEAR", "KBV-LOAN")
#: The submit button, by page language.
CONTINUE = {"en": "Continue", "cy": "Parhau"}


async def _answer(page: Page, lang: str, fields: dict[str, str]) -> int:
    """Fill each field by its name (a radio by its value), check the page with axe, submit it."""
    for name, value in fields.items():
        field = page.locator(f'[name="{name}"]')
        if await field.first.get_attribute("type") == "radio":
            await page.locator(f'input[name="{name}"][value="{value}"]').check()
        else:
            await field.fill(value)
    await assert_accessible(page)
    return await submit(page, CONTINUE[lang])


async def _prove(browser: Browser, rig: IdentityRig, rp: RelyingParty, identity: dict[str, Any], lang: str) -> str:
    """Sign in at `Cl.Cm`, prove `identity` through every page; the URL the relying party is sent back to."""
    person: Person = await asyncio.to_thread(rig.person)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        errors = console_errors(page)
        asked = json.dumps(
            {"userinfo": dict.fromkeys([CORE, VOCAB + "address", VOCAB + "passport", VOCAB + "drivingPermit"])}
        )
        params = rp.authorize_params(vtr='["Cl.Cm.P2"]', claims=asked, ui_locales=lang)
        await page.goto(rig.gateway_url + "/authorize?" + urlencode(params))
        assert await page.locator("html").get_attribute("lang") == lang
        assert await _answer(page, lang, {"email": person.email}) == 200
        assert await _answer(page, lang, {"password": person.password}) == 200
        assert await _answer(page, lang, {"code": person.next_code()}) == 200
        assert urlsplit(page.url).path == "/identity/prove", page.url
        assert await _answer(page, lang, {"document": identity["document"]}) == 200
        wrong = {"given_names": identity["given_names"], "family_name": "", "birth_date": "not a date"}
        assert await _answer(page, lang, wrong) == 400  # the error summary and messages, checked by axe
        assert await _answer(page, lang, {n: identity[n] for n in DOCUMENT_FIELDS if n in identity}) == 200
        home = {"building": "1", "street": "Sandbox Street", "locality": "Testtown"}
        assert (
            await _answer(
                page, lang, {"postal_code": identity["postal_code"], "valid_from": identity["valid_from"], **home}
            )
            == 200
        )
        await _answer(page, lang, dict(zip(KBV, identity["answers"], strict=True)))
        assert page.url.startswith(rp.redirect_uri), page.url
        assert [e for e in errors if "status of 400" not in e and "Failed to load resource" not in e] == []
        return page.url
    finally:
        await context.close()


@pytest.mark.parametrize(("sandbox", "lang", "document"), [("S1", "en", "passport"), ("S2", "cy", "drivingPermit")])
async def test_a_person_proves_their_identity_to_p2(
    browser: Browser,
    identity_rig: IdentityRig,
    callback_url: str,  # noqa: F811
    sandbox: str,
    lang: str,
    document: str,
) -> None:
    rp = RelyingParty(f"rp-{uuid.uuid4().hex[:10]}", identity_rig.issuer, redirect_uri=callback_url)
    await asyncio.to_thread(
        identity_rig.register, rp, ClientLoCs=["P0", "P1", "P2"], IdentityVerificationSupported=True, Claims=ALL_CLAIMS
    )
    back = await _prove(browser, identity_rig, rp, SANDBOX[sandbox], lang)
    id_token, info = await asyncio.to_thread(tokens_and_userinfo, identity_rig, rp, back)
    assert id_token["vot"] == "Cl.Cm"
    core = verify_core_identity(identity_rig, rp, info[CORE], id_token["sub"])
    assert core["vot"] == "P2"
    identity = SANDBOX[sandbox]
    assert core["vc"]["credentialSubject"]["birthDate"] == [{"value": identity["birth_date"]}]
    assert info[VOCAB + document][0]["expiryDate"] == identity["expiry"]
    assert info[VOCAB + "address"][0]["postalCode"] == identity["postal_code"]
