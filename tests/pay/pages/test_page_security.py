"""CSRF on every form, §13.7's headers on every page and redirect, the CSP report endpoint, and the JSON brand
check (pay spec §13.1, §13.2, §13.7)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.pay.conftest import PayRig, new_payment
from tests.pay.pages.payer import THREE_DS_CARD, BrowserFactory, PayerBrowser, card_form

FORMS = ["", "/cancel", "/confirm", "/3ds_handler"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("token", [None, "", "forged", "other-session"])
def test_every_form_needs_a_csrf_token_of_this_session(
    api: httpx.Client, browser_factory: BrowserFactory, form: str, token: str | None
) -> None:
    payment = new_payment(api)
    payer = browser_factory()
    payer.open(payment)
    if token == "other-session":
        other = browser_factory()
        other.open(new_payment(api))
        token = other.csrf()
    body = card_form() if form == "" else {}
    if token is not None:
        body["csrf_token"] = token
    response = payer.request("POST", f"/card_details/{payment['payment_id']}{form}", data=body)
    assert response.status_code == 403 and "Sorry, we could not accept your form" in response.text
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "started"


def test_the_csrf_token_may_come_in_a_header(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    response = payer.request(
        "POST", f"/check_card/{payment['payment_id']}", data={"cardNo": "4444"}, headers={"X-CSRF-Token": payer.csrf()}
    )
    assert response.status_code == 200


def assert_page_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "report-uri /secure/csp-report" in csp
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"


def test_pages_redirects_and_error_pages_carry_the_security_headers(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    exchange = payer.get(payment["_links"]["next_url"]["href"])
    assert exchange.status_code == 303
    assert_page_headers(exchange)
    page = payer.follow(exchange)
    assert_page_headers(page)
    assert_page_headers(payer.get("/secure/unknown-token"))
    assert_page_headers(payer.get(f"/card_details/{payment['payment_id']}/nowhere"))
    assert_page_headers(payer.post(f"/card_details/{payment['payment_id']}", {"csrf_token": "forged"}))


def test_unknown_page_paths_and_wrong_methods_get_html_and_the_api_keeps_its_json(
    api: httpx.Client, payer: PayerBrowser
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    missing = payer.get(f"/card_details/{payment['payment_id']}/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    wrong = payer.request("PUT", f"/card_details/{payment['payment_id']}")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/html")
    api_missing = api.get("/v1/nowhere")
    assert api_missing.status_code == 404 and api_missing.headers["content-type"].startswith("application/json")


def test_csp_reports_are_accepted(payer: PayerBrowser) -> None:
    report = (
        b'{"csp-report": {"document-uri": "https://pay.example/card_details/x", "violated-directive": "script-src"}}'
    )
    response = payer.request(
        "POST", "/secure/csp-report", content=report, headers={"Content-Type": "application/csp-report"}
    )
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (
            "4444 3333 2222 1111",
            {"accepted": True, "brand": "visa", "label": "Visa", "type": "credit", "prepaid": False},
        ),
        ("4000056655665556", {"accepted": True, "brand": "visa", "label": "Visa", "type": "debit", "prepaid": False}),
        (
            "6759649826438453",
            {
                "accepted": False,
                "brand": "maestro",
                "label": "Maestro",
                "type": "debit",
                "prepaid": False,
                "message": "This card type is not accepted",
            },
        ),
        ("4444333322221112", {"accepted": False, "message": "This card type is not accepted"}),
        ("not a number", {"accepted": False, "message": "This card type is not accepted"}),
    ],
)
def test_check_card_answers_brand_and_type_as_json(
    api: httpx.Client, payer: PayerBrowser, number: str, expected: dict[str, Any]
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    response = payer.post(f"/check_card/{payment['payment_id']}", {"cardNo": number})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.json() == expected


def test_check_card_speaks_the_payments_language_and_knows_blocked_prepaid_cards(
    pay_rig: PayRig, payer: PayerBrowser
) -> None:
    api = pay_rig.api(pay_rig.tenant({"block_prepaid_cards": True}).account("test"))
    payment = new_payment(api, language="cy")
    payer.open(payment)
    body = payer.post(f"/check_card/{payment['payment_id']}", {"cardNo": "4000160000000004"}).json()
    assert body["accepted"] is False and body["prepaid"] is True
    assert body["message"] == "Nid yw’r math hwn o gerdyn yn cael ei dderbyn"


def test_the_three_d_secure_post_needs_this_sessions_token_too(
    api: httpx.Client, browser_factory: BrowserFactory
) -> None:
    payment = new_payment(api)
    payer = browser_factory()
    payer.open(payment)
    payer.follow(payer.post(f"/card_details/{payment['payment_id']}", card_form(THREE_DS_CARD)))
    forged = payer.request(
        "POST", f"/card_details/{payment['payment_id']}/3ds_handler", data={"outcome": "authenticate"}
    )
    assert forged.status_code == 403
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "started"
