"""The example departmental service end to end, under `gaap up --with-example`, in Chromium: a resident signs in
through identity (password and authenticator code), reports a bulky waste collection, pays with the test card on
pay's hosted pages, comes back to the service, and then the payment is in the council's console, the confirmation
email is in the developer inbox, and an officer's status update sends a second email."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gaap_client import AsyncPayClient
from playwright.async_api import Browser, Page, async_playwright

from gateway.demo_templates import NotifyKeyAuth
from services.identity.accounts import totp
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_pay_pages import fill_card
from tests.embedded.test_up import wait_for_templates, wait_ready
from tests.support import free_port

pytestmark = pytest.mark.embedded
EXAMPLE = "http://127.0.0.1:8400"


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GAAP_", "GATEWAY_", "NOTIFY_", "PAY_", "IDENTITY_"))
    }
    argv = [sys.executable, "-m", "gaap.cli.main", "up", "--port", str(port), "--data-dir", str(data_dir)]
    log = (data_dir / "up.log").open("wb")  # not a pipe: nobody reads it while the platform runs
    return subprocess.Popen([*argv, "--with-example"], env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_example(proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None
        try:
            if httpx.get(EXAMPLE + "/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the example did not answer")


def inbox_email(demo: dict[str, Any], to: str, subject_starts: str, timeout: float = 60) -> dict[str, Any]:
    """The first email in the developer inbox to `to` whose subject starts so (the worker delivers it)."""
    auth = NotifyKeyAuth(demo["notify"]["live_key"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = httpx.get(demo["notify"]["inbox_url"], auth=auth, timeout=10)
        assert listed.status_code == 200, listed.text
        for email in listed.json()["emails"]:
            if to in email["to"] and email["subject"].startswith(subject_starts):
                return email  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise TimeoutError(f"no email to {to} starting {subject_starts!r}")


async def sign_in(page: Page, user: dict[str, str]) -> None:
    await page.get_by_label("Email address").fill(user["email"])
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Continue").click()
    counter = int(time.time()) // totp.STEP
    await page.get_by_label("Security code").fill(totp.code_at(user["totp_secret"], counter))
    await page.get_by_role("button", name="Continue").click()


async def test_a_resident_reports_pays_and_is_told(tmp_path: Path, chromium: Browser) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port)
    try:
        await asyncio.to_thread(wait_ready, url, proc)
        demo = await asyncio.to_thread(wait_for_templates, tmp_path / "demo.json", proc)
        await asyncio.to_thread(wait_for_example, proc)
        user = demo["identity"]["user"]

        page = await (await chromium.new_context()).new_page()
        await page.goto(EXAMPLE + "/")
        await page.get_by_role("button", name="Start now").click()
        await sign_in(page, user)
        await page.wait_for_url(EXAMPLE + "/report")
        await page.get_by_label("Bulky waste collection").check()
        await page.get_by_label("Where is it?").fill("Outside 1 Example Street")
        await page.get_by_label("Describe the problem").fill("An old sofa and two chairs")
        await page.get_by_label("Mobile number (optional)").fill("07700900123")
        await page.get_by_role("button", name="Send report").click()
        await fill_card(page, "4444333322221111")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("button", name="Confirm payment").click()
        await page.wait_for_url(EXAMPLE + "/reports/*")
        assert (await page.locator("#payment").inner_text()) == "Paid"
        reference = (await page.locator(".govuk-panel__body strong").inner_text()).strip()
        report_id = page.url.rsplit("/", 1)[-1]

        async with AsyncPayClient(url, demo["pay"]["test_key"]) as pay:  # the department's view of its payments
            payments = [p async for p in pay.payments(reference=reference)]
        assert [(p["amount"], p["state"]["status"]) for p in payments] == [(2500, "success")]
        # The council's own view: the same person is the demo service's admin in the console (signed in through
        # identity, where the session from the report is still live).
        console = f"{url}/console/services/{demo['service_id']}/payments?mode=test&reference={reference}"
        await page.goto(console)
        if "/identity/" in page.url:
            await sign_in(page, user)
            await page.goto(console)
        listing = page.locator("main")
        assert reference in await listing.inner_text()
        assert "£25.00" in await listing.inner_text()
        email = await asyncio.to_thread(inbox_email, demo, user["email"], f"We have your report {reference}")
        assert "We have received your payment of £25.00" in email["text"]
        officer = json.loads((tmp_path / "report-a-problem.json").read_text())["officer_token"]
        async with httpx.AsyncClient() as client:
            updated = await client.post(
                f"{EXAMPLE}/officer/reports/{report_id}/status",
                data={"status": "resolved"},
                headers={"Authorization": f"Bearer {officer}"},
            )
        assert updated.status_code == 204
        await asyncio.to_thread(inbox_email, demo, user["email"], f"Your report {reference} is now resolved")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, (tmp_path / "up.log").read_text()[-3000:]
