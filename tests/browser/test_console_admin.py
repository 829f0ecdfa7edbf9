"""The console's organisation, settings and team pages in Chromium: a platform operator creates an organisation
and a service in it, changes a setting (after notify refuses a first try, shown in the error summary), and invites
a member by email; the member opens the emailed link, signs in through identity and joins the team. axe finds no
WCAG 2.2 AA violation on any page, in English or Welsh, and the CSP reports nothing."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from gateway.invitations.models import Invitation
from tests.browser.test_console_browser import _follow
from tests.browser.test_pages_browser import assert_accessible, console_errors, sign_in, submit
from tests.gateway.console.admin_support import _on, enable_invitations, members, operator, run, sent_email
from tests.gateway.console.conftest import ConsoleRig

pytestmark = pytest.mark.browser
LINK = re.compile(r"https?://[^\s)]+(/console/invitations/[A-Za-z0-9_-]+)")


async def test_operator_creates_a_service_changes_a_setting_and_a_member_joins(
    browser: Browser,
    console_rig: ConsoleRig,
) -> None:
    key = await asyncio.to_thread(enable_invitations, console_rig)
    signed_in_as = operator(console_rig)
    person = await asyncio.to_thread(signed_in_as.__enter__)
    context = await browser.new_context()
    page = await context.new_page()
    errors = console_errors(page)
    try:
        await page.goto(f"{console_rig.url}/console/organisations")
        await sign_in(page, person)
        assert await page.locator("h1").inner_text() == "Organisations"
        await assert_accessible(page)

        await _follow(page, "button", "Create an organisation")
        assert await submit(page, "Continue") == 400  # no name: the error summary says what to do
        assert await page.title() == "Error: Create an organisation – GaaP console – GOV.UK"
        await assert_accessible(page)
        organisation = f"Browser Department {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Name of the organisation").fill(organisation)
        assert await submit(page, "Continue") == 200
        assert await page.locator("h1").inner_text() == organisation
        await assert_accessible(page)

        await _follow(page, "button", "Create a service")
        await assert_accessible(page)
        await page.get_by_label("Name of the service").fill("Renew a licence")
        assert await submit(page, "Continue") == 200
        assert await page.locator("h1").inner_text() == "Renew a licence"
        service_id = page.url.rsplit("/", 1)[1]
        await assert_accessible(page)

        await _follow(page, "link", "Service settings")
        assert await page.locator("h1").inner_text() == "Service settings"
        await assert_accessible(page)
        await _follow(page, "link", "Change Reply-to addresses and text sender")
        await assert_accessible(page)
        await page.get_by_label("Text message sender name").fill("A!")
        assert await submit(page, "Save") == 400  # notify refuses it: shown the GOV.UK way
        summary = page.locator(".govuk-error-summary")
        assert "Notify did not accept this" in await summary.inner_text()
        await assert_accessible(page)
        await page.get_by_label("Text message sender name").fill("LICENCES")
        assert await submit(page, "Save") == 200
        assert await page.get_by_text("Settings saved").count() == 1
        assert await page.get_by_text("LICENCES").count() == 1
        await assert_accessible(page)
        await _follow(page, "link", "Change Callbacks")
        await assert_accessible(page)
        await _follow(page, "link", "Back")
        await _follow(page, "button", "Add a Pay webhook")
        await assert_accessible(page)
        await page.get_by_label("Test account").check()
        await page.get_by_label("Webhook URL").fill("https://hooks.example.gov.uk/pay-events")
        await page.get_by_label("Payment succeeded").check()
        assert await submit(page, "Save") == 200
        await _follow(page, "link", "See the secrets that sign callbacks and webhooks, and rotate a webhook’s secret")
        assert await page.locator("h1").inner_text() == "Signing secrets"
        await assert_accessible(page)
        assert await submit(page, "Show the signing secrets") == 200
        assert await page.get_by_text("webhook_test_", exact=False).count() == 1
        await assert_accessible(page)
        assert await submit(page, "Rotate https://hooks.example.gov.uk/pay-events") == 200
        assert await page.get_by_text("The old one keeps signing for 24 hours.", exact=False).count() == 1
        await assert_accessible(page)
        await page.goto(f"{console_rig.url}/console/services/{service_id}/settings?lang=cy")
        assert await page.locator("h1").inner_text() == "Gosodiadau’r gwasanaeth"
        await assert_accessible(page)
        await _follow(
            page,
            "link",
            "Gweld y cyfrinachau sy’n llofnodi galwadau’n ôl a bachau gwe, a chylchdroi cyfrinach bachyn gwe",
        )
        assert await page.locator("h1").inner_text() == "Cyfrinachau llofnodi"
        await assert_accessible(page)

        await page.goto(f"{console_rig.url}/console/services/{service_id}/team?lang=en")
        assert await page.locator("h1").inner_text() == "Team members"
        await assert_accessible(page)
        await _follow(page, "button", "Invite a team member")
        await assert_accessible(page)
        invitee = await asyncio.to_thread(console_rig.person)
        await page.get_by_label("Email address").fill(invitee.email)
        await page.get_by_label("Send messages").check()
        await page.get_by_label("View payments").check()
        assert await submit(page, "Send invitation") == 200
        assert await page.get_by_text(f"Invitation sent to {invitee.email}").count() == 1
        await assert_accessible(page)

        email = await asyncio.to_thread(_invitation_email, console_rig, key, service_id, invitee.email)
        link = LINK.search(email)
        assert link, email
        member_context = await browser.new_context()
        try:
            member_page = await member_context.new_page()
            member_errors = console_errors(member_page)
            await member_page.goto(console_rig.url + link.group(1))
            await sign_in(member_page, invitee)
            assert await member_page.locator("h1").inner_text() == "Join Renew a licence"
            await assert_accessible(member_page)
            assert await submit(member_page, "Accept invitation") == 200
            assert await member_page.locator("h1").inner_text() == "Renew a licence"
            await assert_accessible(member_page)
            assert member_errors == []
        finally:
            await member_context.close()
        team = await asyncio.to_thread(members, console_rig, uuid.UUID(service_id))
        assert team[invitee.email] == ["send_messages", "view_payments"]

        await page.reload()
        assert await page.get_by_text(invitee.email).count() >= 1
        await assert_accessible(page)
        # Only the forms' deliberate 400s are reported; no CSP violation, no script error.
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        await context.close()
        await asyncio.to_thread(signed_in_as.__exit__, None, None, None)


def _invitation_email(rig: ConsoleRig, key: str, service_id: str, email: str) -> str:
    async def load(session: object) -> uuid.UUID:
        query = select(Invitation.id).where(Invitation.service_id == uuid.UUID(service_id), Invitation.email == email)
        found = await session.scalar(query)  # type: ignore[attr-defined]
        assert found is not None
        return found

    invitation_id = run(_on(rig.gateway_db, load))
    body: str = sent_email(rig, key, f"console-invitation:{invitation_id}")["body"]
    return body
