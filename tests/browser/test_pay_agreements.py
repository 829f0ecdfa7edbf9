"""A set-up payment in Chromium, through the real gateway (pay spec §8, §13): the department creates an agreement
and a set-up payment with its Pay test key, the payer reads on the card page that their card will be kept for the
agreement's payments (in Welsh too), pays, and the agreement is `active` with the card. axe checks the card page
with the notice in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext

from tests.browser.test_pages_browser import assert_accessible, console_errors
from tests.browser.test_pay_pages import (  # noqa: F401  (fixtures)
    Department,
    context,
    department,
    fill_card,
    open_payment,
    press,
    return_url,
)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("pay_rig", ["sqlite"], indirect=True)]


def agreement_and_set_up(service: Department, language: str) -> tuple[dict[str, Any], dict[str, Any]]:
    created = service.api.post(
        "/v1/agreements", json={"reference": "CT-2026", "description": "Council tax 2026/27 by monthly card payment"}
    )
    assert created.status_code == 201, created.text
    agreement = created.json()
    payment = service.payment(set_up_agreement=agreement["agreement_id"], language=language)
    return agreement, payment


async def test_a_payer_saves_their_card_to_an_agreement(
    context: BrowserContext,  # noqa: F811
    department: Department,  # noqa: F811
) -> None:
    welsh_agreement, welsh_payment = agreement_and_set_up(department, "cy")
    welsh = await open_payment(context, welsh_payment)
    notice = welsh.locator("#agreement-notice")
    assert "Bydd manylion eich cerdyn yn cael eu cadw ar gyfer taliadau yn y dyfodol" in await notice.inner_text()
    assert welsh_agreement["description"] in await notice.inner_text()
    await assert_accessible(welsh)
    await welsh.close()

    agreement, payment = agreement_and_set_up(department, "en")
    page = await open_payment(context, payment)
    errors = console_errors(page)
    notice = page.locator("#agreement-notice")
    assert await notice.get_by_text("Your card details will be kept for future payments for:").is_visible()
    assert await notice.get_by_text(agreement["description"], exact=True).is_visible()
    await assert_accessible(page)

    await fill_card(page, "4444333322221111")
    await press(page, "Continue")
    assert await page.get_by_role("heading", name="Confirm your payment").is_visible()
    async with page.expect_navigation(url=department.return_url):
        await page.get_by_role("button", name="Confirm payment").click()
    assert errors == []

    assert department.state(payment)["state"]["status"] == "success"
    active = department.api.get(f"/v1/agreements/{agreement['agreement_id']}").json()
    assert active["status"] == "active"
    card = active["payment_instrument"]["card_details"]
    assert (card["last_digits_card_number"], card["card_brand"], card["cardholder_name"]) == (
        "1111",
        "Visa",
        "Ada Lovelace",
    )
