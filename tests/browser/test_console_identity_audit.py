"""The console's OIDC clients, audit log and developer inbox in Chromium: an admin registers a client with RS256 ID
tokens (after the form explains what is missing, and after identity refuses an http redirect URI on another host),
sees a client registered while identity was down marked as not confirmed until the sweeper delivers it, finds the
registration in the service's audit log and verifies the chain, then sends a one-off email, which notify's worker
delivers to the development SMTP sink, and reads it in the developer inbox. axe finds no WCAG 2.2 AA violation on
any page, in English or Welsh, and the CSP reports nothing."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from joserfc.jwk import ECKey
from playwright.async_api import Browser, Page

from gateway.console.clients import ClientForm
from tests.browser.test_console_browser import _follow
from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.admin_support import register_while_identity_is_down, sweep
from tests.gateway.console.inbox_support import InboxConsole

pytestmark = pytest.mark.browser


async def _sign_in(page: Page, rig: InboxConsole) -> None:
    admin = await asyncio.to_thread(rig.admin)
    await page.goto(f"{rig.url}/console/services/{rig.demo_service_id}")
    await sign_in(page, admin)
    assert await page.locator("h1").inner_text() == "Demo service"


async def test_admin_registers_a_client_searches_the_log_and_reads_the_inbox(
    browser: Browser,
    inbox_console: InboxConsole,
) -> None:
    rig = inbox_console
    context = await browser.new_context()
    page = await context.new_page()
    errors = console_errors(page)
    service_url = f"{rig.url}/console/services/{rig.demo_service_id}"
    try:
        await _sign_in(page, rig)
        await _follow(page, "link", "OpenID Connect clients")
        assert await page.locator("h1").inner_text() == "OpenID Connect clients"
        await assert_accessible(page)
        await _follow(page, "button", "Register a client")
        await assert_accessible(page)
        await page.get_by_label("Cl.Cm: sign-in with a password and a second factor").uncheck()
        assert await submit(page, "Save") == 400  # nothing filled in: the error summary says what to do
        assert await page.title() == "Error: Register a client – GaaP console – GOV.UK"
        await assert_accessible(page)

        name = f"Browser client {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Name", exact=True).fill(name)
        await page.get_by_label("Redirect URIs", exact=True).fill("http://rp.example.gov.uk/callback")
        await page.get_by_label("Cl.Cm.P2: sign-in and a medium confidence identity check").check()
        await page.get_by_label("Its public key", exact=True).check()
        jwk = json.dumps(ECKey.generate_key("P-256").as_dict(private=False))
        await page.get_by_label("Public key", exact=True).fill(jwk)
        await page.get_by_label("Public: the same identifier (sub) for a person in every service").check()
        algorithm = page.get_by_label("ES256: elliptic curve P-256 (the default)")
        assert await algorithm.is_checked()
        await page.get_by_label("RS256: RSA, for software that can check only RSA signatures").check()
        assert await submit(page, "Save") == 400  # identity refuses plain http off loopback
        summary = await page.locator(".govuk-error-summary").inner_text()
        assert "RedirectUrls must be an https URL" in summary
        await assert_accessible(page)

        await page.get_by_label("Redirect URIs", exact=True).fill("https://rp.example.gov.uk/callback")
        assert await submit(page, "Save") == 200
        assert await page.get_by_role("heading", name="Client registered").count() == 1
        client_id = await page.locator("#client-id").inner_text()
        assert len(client_id) == 27
        assert await page.get_by_text(f"{rig.url}/.well-known/openid-configuration").count() == 1
        assert await page.get_by_text("RS256", exact=True).count() == 1  # the ID token algorithm chosen
        await assert_accessible(page)

        # Identity down: a client registered then is kept, and the pages say identity has not confirmed it yet.
        form = ClientForm(name="Offline", redirect_uris="https://rp.example.gov.uk/cb", key_source="JWKS")
        form.jwks_url = "https://rp.example.gov.uk/jwks"
        waiting = await asyncio.to_thread(register_while_identity_is_down, rig.gateway_db, rig.demo_service_id, form)
        await page.goto(f"{service_url}/identity/clients/{waiting}")
        assert await page.get_by_text("Identity has not confirmed this client yet").count() == 1
        await assert_accessible(page)
        await page.goto(f"{service_url}/identity/clients")
        assert await page.get_by_text("Not confirmed yet", exact=True).count() == 1
        await assert_accessible(page)
        assert (await asyncio.to_thread(sweep, rig, rig.demo_service_id)).get("delivered")  # the sweeper, later
        await page.reload()
        assert await page.get_by_text("Not confirmed yet", exact=True).count() == 0

        await page.goto(service_url)
        await _follow(page, "link", "Audit log")
        await page.get_by_label("Action").select_option("oidc_client.create")
        assert await submit(page, "Search") == 200
        assert await page.get_by_role("cell", name=f"oidc_client {client_id}").count() == 1
        await assert_accessible(page)
        await _follow(page, "link", "Verify the hash chain")
        assert await page.get_by_text("The audit log’s hash chain verifies").count() == 1
        await assert_accessible(page)
        await page.get_by_label("From").fill("not a date")
        assert await submit(page, "Search") == 400
        await assert_accessible(page)
        await page.goto(page.url.split("?")[0] + "?lang=cy")
        assert await page.locator("h1").inner_text() == "Log archwilio"
        await assert_accessible(page)

        reference = uuid.uuid4().hex[:8]
        recipient = f"browser-{reference}@example.gov.uk"
        await page.goto(f"{service_url}/templates/{rig.template_id}/send?lang=en")
        await page.get_by_label("Email address").fill(recipient)
        await page.get_by_label("ref", exact=True).fill(reference)
        assert await submit(page, "Send") == 200
        await asyncio.to_thread(rig.deliver)
        await page.goto(service_url)
        await _follow(page, "link", "Developer inbox")
        await assert_accessible(page)
        await _follow(page, "link", f"Your reference {reference}")
        assert await page.locator("h1").inner_text() == f"Your reference {reference}"
        assert reference in await page.locator("#email-body").inner_text()
        await assert_accessible(page)
        await page.goto(page.url + "?lang=cy")
        await assert_accessible(page)
        # Only the forms' deliberate 400s are reported; no CSP violation, no script error.
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()
