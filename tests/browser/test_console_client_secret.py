"""A client secret in Chromium: an admin registers a `client_secret_basic` client without a key, generates its
secret and reads it on the page that shows it once; the relying party then signs the admin in with it and redeems
the code at `/token`. axe finds no WCAG 2.2 AA violation on these pages, in English or Welsh."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser

from tests.browser.test_console_browser import _follow
from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.conftest import ConsoleRig
from tests.identity.support import RelyingParty, code_from

pytestmark = pytest.mark.browser

REDIRECT = "http://127.0.0.1:9999/callback"


async def test_admin_generates_a_client_secret_the_relying_party_uses(
    browser: Browser,
    console_rig: ConsoleRig,
) -> None:
    admin = await asyncio.to_thread(console_rig.admin)
    context = await browser.new_context()
    page = await context.new_page()
    errors = console_errors(page)
    clients = f"{console_rig.url}/console/services/{console_rig.demo_service_id}/identity/clients"
    try:
        await page.goto(clients + "/register")
        await sign_in(page, admin)
        assert await page.locator("h1").inner_text() == "Register a client"

        await page.get_by_label("Name", exact=True).fill(f"Secret client {uuid.uuid4().hex[:6]}")
        await page.get_by_label("Redirect URIs", exact=True).fill(REDIRECT)
        await page.get_by_label("Client secret, sent with HTTP Basic authentication (client_secret_basic)").check()
        await page.get_by_label("Public: the same identifier (sub) for a person in every service").check()
        await assert_accessible(page)
        assert await submit(page, "Save") == 200
        client_id = await page.locator("#client-id").inner_text()
        assert await page.get_by_text("client_secret_basic", exact=True).count() == 1
        await assert_accessible(page)

        await _follow(page, "button", "Generate a new client secret")
        assert await page.locator("h1").inner_text() == "New client secret"
        secret = await page.locator("#client-secret").inner_text()
        assert len(secret) == 43
        assert await page.get_by_text("You will not be able to see it again.").count() == 1
        await assert_accessible(page)
        await _follow(page, "link", "Back to the client")
        assert secret not in await page.content()
        await page.goto(f"{clients}/{client_id}?lang=cy")
        assert await page.get_by_role("button", name="Cynhyrchu cyfrinach cleient newydd").count() == 1
        await assert_accessible(page)

        # The relying party: the browser's identity session signs the admin in at once (no page), and the code it
        # is sent back with is redeemed with the secret. (Playwright does not route redirected requests, so the
        # redirect is read with the context's own cookies rather than followed to the RP's closed port.)
        rp = RelyingParty(client_id, console_rig.url + "/", redirect_uri=REDIRECT)
        query = urlencode(rp.authorize_params())
        sent = await context.request.get(f"{console_rig.url}/authorize?{query}", max_redirects=0)
        location = sent.headers["location"]
        assert location.startswith(REDIRECT + "?"), location
        form = rp.token_form(code_from(location)["code"], client_assertion_type=None, client_assertion=None)
        async with httpx.AsyncClient(base_url=console_rig.url) as client:
            tokens = await client.post("/token", data=form, auth=(client_id, secret))
            assert tokens.status_code == 200, tokens.text
            jwks = (await client.get("/.well-known/jwks.json")).json()
        assert rp.verify_id_token(tokens.json()["id_token"], jwks)["aud"] == client_id
        assert errors == []
    finally:
        await context.close()
