"""A payment's dispute on the console's payment page (pay spec §10), with the real pay behind the gateway: status,
reason, amount, evidence deadline and, once lost, the fee; in English and Welsh; no refund offered while the dispute
stops refunds (§6)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from gaap.db.base import utcnow
from gaap.pages.i18n import Catalogues
from gateway.console.pay import DISPUTE_REASONS, DISPUTE_STATUSES
from services.pay.disputes import service as disputes
from services.pay.payments import tasks as payment_tasks
from services.pay.worker import worker_spec
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig

LOSES = "4000000000000259"
CONSOLE_LOCALE = Path(__file__).resolve().parents[3] / "gateway" / "console" / "locale"


def disputed_payment(rig: ConsoleRig, reference: str, steps: int) -> str:
    """A MOTO payment on the losing dispute card, captured by pay's worker handler and its dispute moved on
    `steps` times on a test clock (1: needs a response, 3: lost)."""
    auth = {"Authorization": f"Bearer {rig.pay_test_key}"}
    body = {"amount": 1500, "reference": reference, "description": "Parking permit", "authorisation_mode": "moto_api"}
    with httpx.Client(base_url=rig.url, timeout=30) as client:
        created = client.post("/v1/payments", json=body, headers=auth)
        assert created.status_code == 201, created.text
        token = created.json()["_links"]["auth_url_post"]["params"]["one_time_token"]
        card = {"card_number": LOSES, "cvc": "123", "expiry_date": "12/39", "cardholder_name": "A"}
        assert client.post("/v1/auth", json={"one_time_token": token, **card}).status_code == 204
    payment_id: str = created.json()["payment_id"]
    settings = rig.pay_settings
    assert settings is not None

    async def work() -> None:
        spec = worker_spec(settings)
        ctx: dict[str, Any] = {}
        assert spec.on_startup is not None and spec.on_shutdown is not None
        await spec.on_startup(ctx)
        try:
            await payment_tasks.capture_payment(ctx, payment_id)
            now = utcnow()
            for step in range(1, steps + 1):
                await disputes.progress(ctx["db"], settings, now=now + timedelta(seconds=61 * step))
        finally:
            await spec.on_shutdown(ctx)

    asyncio.run(work())
    return payment_id


def summary(page: str, key: str) -> str:
    """The value beside `key` in the page's last summary list with that key."""
    found = re.findall(rf'<dt class="govuk-summary-list__key">\s*{re.escape(key)}\s*</dt>\s*'
                       r'<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>', page, re.S)  # fmt: skip
    assert found, key
    return str(found[-1])


def test_the_payment_page_shows_the_dispute(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    # Lost first: the job moves every due dispute, so a later one's single step leaves this one as it is.
    lost_one = disputed_payment(console_rig, f"PD-{uuid.uuid4().hex[:8]}", steps=3)
    open_one = disputed_payment(console_rig, f"PD-{uuid.uuid4().hex[:8]}", steps=1)
    base = f"/console/services/{console_rig.demo_service_id}/payments"
    browser.sign_in_to_console(console_rig.admin(), base)

    page = browser.get(f"{base}/{open_one}?mode=test").text
    assert "Dispute</h2>" in page
    assert summary(page, "Status") == "Needs response" and summary(page, "Reason") == "Fraudulent"
    assert summary(page, "Amount") == "£15.00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", summary(page, "Evidence due"))
    assert "Dispute fee" not in page
    assert "so it cannot be refunded" in page and f"/{open_one}/refund" not in page

    lost = browser.get(f"{base}/{lost_one}?mode=test").text
    assert summary(lost, "Status") == "Lost" and summary(lost, "Dispute fee") == "£20.00"
    welsh = browser.get(f"{base}/{lost_one}?mode=test&lang=cy").text
    assert "Anghydfod</h2>" in welsh
    assert summary(welsh, "Statws") == "Wedi colli" and summary(welsh, "Rheswm") == "Twyllodrus"
    assert summary(welsh, "Ffi anghydfod") == "£20.00"

    undisputed = console_rig.successful_payment(f"PN-{uuid.uuid4().hex[:8]}")
    plain = browser.get(f"{base}/{undisputed}?mode=test").text
    assert "Dispute</h2>" not in plain and f"/{undisputed}/refund" in plain


def test_every_dispute_status_and_reason_has_welsh() -> None:
    welsh = Catalogues([CONSOLE_LOCALE])
    chosen = [*DISPUTE_STATUSES.values(), *DISPUTE_REASONS.values()]
    assert [text for text in chosen if welsh.gettext("cy", text) == text] == []
