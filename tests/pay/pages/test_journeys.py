"""The payer's journeys through the payment pages (pay spec §13.1, §13.5, §9.2): pay, 3-D Secure, decline, provider
error, cancel, expiry, the service's cancel, a slow provider, and the outcome pages with their way back to the
service. Each journey checks the API's view of the payment as the service sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gaap.db.engine import Database
from services.pay.payments import tasks
from services.pay.provider.sandbox import SandboxProvider
from tests.pay.conftest import RETURN_URL, PayRig, new_payment
from tests.pay.pages.payer import (
    DECLINED_CARD,
    ERROR_CARD,
    THREE_DS_CARD,
    PayerBrowser,
    card_form,
    path_of,
)
from tests.pay.payments.test_expiry import age

STARTED = {"status": "started", "finished": False}


def state_of(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]
    return state


def submit(payer: PayerBrowser, payment: dict[str, Any], number: str, **overrides: str) -> httpx.Response:
    return payer.post(f"/card_details/{payment['payment_id']}", card_form(number, **overrides))


def public_events(api: httpx.Client, payment: dict[str, Any]) -> list[str]:
    events = api.get(f"/v1/payments/{payment['payment_id']}/events").json()["events"]
    return [event["state"]["status"] for event in events]


@contextmanager
def slow_provider(rig: PayRig, *, delay_ms: int, page_wait_ms: int = 50, timeout: float = 10.0) -> Iterator[None]:
    """The rig's pay with a sandbox that answers after `delay_ms`, a page that waits `page_wait_ms` for it, and an
    authorisation timeout of `timeout` seconds."""
    providers, settings = rig.app.state.providers, rig.settings
    saved = (providers["sandbox"], settings.page_auth_wait_ms, settings.authorisation_timeout_seconds)
    providers["sandbox"] = SandboxProvider(auth_delay_ms=delay_ms)
    settings.page_auth_wait_ms, settings.authorisation_timeout_seconds = page_wait_ms, timeout
    try:
        yield
    finally:
        providers["sandbox"], settings.page_auth_wait_ms, settings.authorisation_timeout_seconds = saved


def wait_for(api: httpx.Client, payment: dict[str, Any], status: str, seconds: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while (state := state_of(api, payment))["status"] != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return state


def test_a_payer_pays_with_the_success_card(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api, email="prefilled@example.org")
    page = payer.open(payment)
    assert page.status_code == 200 and "Enter card details" in page.text
    assert "prefilled@example.org" in page.text and "£12.00" in page.text
    assert state_of(api, payment) == STARTED

    card = submit(payer, payment, "4444 3333 2222 1111", addressLine2="Flat 2")
    assert card.status_code == 303 and path_of(card) == f"/card_details/{payment['payment_id']}/confirm"
    assert state_of(api, payment) == {"status": "submitted", "finished": False}
    confirm_page = payer.follow(card)
    assert "Confirm your payment" in confirm_page.text
    assert "1111" in confirm_page.text and "4444333322221111" not in confirm_page.text
    assert "12/39" in confirm_page.text and "Ada Lovelace" in confirm_page.text and "CF10 1AA" in confirm_page.text
    assert "United Kingdom" in confirm_page.text and "ada@example.org" in confirm_page.text

    confirmed = payer.post(f"/card_details/{payment['payment_id']}/confirm")
    assert confirmed.status_code == 303 and path_of(confirmed) == f"/return/{payment['payment_id']}"
    back = payer.get(confirmed.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == RETURN_URL  # unchanged: nothing appended

    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert got["state"] == {"status": "success", "finished": True}
    assert got["email"] == "ada@example.org"
    assert got["card_details"] == {
        "last_digits_card_number": "1111",
        "first_digits_card_number": "444433",
        "cardholder_name": "Ada Lovelace",
        "expiry_date": "12/39",
        "billing_address": {
            "line1": "1 Example Street",
            "line2": "Flat 2",
            "postcode": "CF10 1AA",
            "city": "Cardiff",
            "country": "GB",
        },
        "card_brand": "Visa",
        "card_type": "credit",
        "wallet_type": None,
    }
    assert "authorisation_summary" not in got and "next_url" not in got["_links"]
    assert public_events(api, payment) == ["created", "started", "submitted", "success"]


def test_a_delayed_capture_payment_is_capturable_once_confirmed(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api, delayed_capture=True)
    payer.open(payment)
    payer.follow(submit(payer, payment, "4242424242424242"))
    confirmed = payer.post(f"/card_details/{payment['payment_id']}/confirm")
    assert path_of(confirmed) == f"/return/{payment['payment_id']}"
    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert got["state"] == {"status": "capturable", "finished": False} and "capture" in got["_links"]


def test_three_d_secure_authenticated_then_confirmed(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    card = submit(payer, payment, THREE_DS_CARD)
    assert path_of(card) == f"/card_details/{payment['payment_id']}/3ds_required"
    assert state_of(api, payment) == STARTED
    bank = payer.follow(card)
    assert "Test bank" in bank.text and "3155" in bank.text and "£12.00" in bank.text and "Pay" in bank.text

    passed = payer.post(f"/card_details/{payment['payment_id']}/3ds_handler", {"outcome": "authenticate"})
    assert path_of(passed) == f"/card_details/{payment['payment_id']}/confirm"
    assert state_of(api, payment)["status"] == "submitted"
    again = payer.post(f"/card_details/{payment['payment_id']}/3ds_handler", {"outcome": "fail"})  # one attempt
    assert path_of(again) == f"/card_details/{payment['payment_id']}/confirm"

    payer.get(passed.headers["location"])
    payer.post(f"/card_details/{payment['payment_id']}/confirm")
    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert got["state"]["status"] == "success"
    assert got["authorisation_summary"] == {"three_d_secure": {"required": True}}


def test_three_d_secure_failed_is_declined(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    payer.follow(submit(payer, payment, THREE_DS_CARD))
    failed = payer.post(f"/card_details/{payment['payment_id']}/3ds_handler", {"outcome": "fail"})
    page = payer.follow(failed)
    assert "Your payment has been declined" in page.text
    assert state_of(api, payment) == {
        "status": "failed",
        "finished": True,
        "code": "P0010",
        "message": "Payment method rejected",
    }


@pytest.mark.parametrize(
    ("number", "heading", "state"),
    [
        (DECLINED_CARD, "Your payment has been declined", {"status": "failed", "code": "P0010"}),
        ("4000000000000069", "Your payment has been declined", {"status": "failed", "code": "P0010"}),
        ("4000000000000127", "Your payment has been declined", {"status": "failed", "code": "P0010"}),
        (ERROR_CARD, "We’re experiencing technical problems", {"status": "error", "code": "P0050"}),
    ],
)
def test_declines_and_provider_errors_have_their_outcome_page(
    api: httpx.Client, payer: PayerBrowser, number: str, heading: str, state: dict[str, str]
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    card = submit(payer, payment, number)
    assert path_of(card) == f"/card_details/{payment['payment_id']}"
    page = payer.follow(card)
    assert heading in page.text and f'href="/return/{payment["payment_id"]}"' in page.text
    got = state_of(api, payment)
    assert {k: got[k] for k in state} == state and got["finished"] is True
    assert payer.get(f"/return/{payment['payment_id']}").headers["location"] == RETURN_URL


def test_the_payer_cancels_on_the_card_page(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    cancelled = payer.post(f"/card_details/{payment['payment_id']}/cancel")
    page = payer.follow(cancelled)
    assert "Your payment has been cancelled" in page.text
    assert state_of(api, payment) == {
        "status": "failed",
        "finished": True,
        "code": "P0030",
        "message": "Payment was cancelled by the user",
    }
    assert (
        payer.post(f"/card_details/{payment['payment_id']}", card_form())
        .headers["location"]
        .endswith(payment["payment_id"])
    )  # nothing more can be submitted: back to the outcome page
    assert state_of(api, payment)["code"] == "P0030"


async def test_the_payer_cancels_an_authorised_payment_and_it_is_voided(
    api: httpx.Client, payer: PayerBrowser, worker_ctx: dict[str, Any]
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    payer.follow(submit(payer, payment, "4444333322221111"))
    payer.post(f"/card_details/{payment['payment_id']}/cancel")
    assert state_of(api, payment)["code"] == "P0030"
    await tasks.void_payment(worker_ctx, payment["payment_id"])  # what the queued job does
    assert state_of(api, payment)["code"] == "P0030"
    assert public_events(api, payment) == ["created", "started", "submitted", "failed"]


def test_the_service_cancels_while_the_payer_is_on_the_page(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    page = payer.post(f"/card_details/{payment['payment_id']}", card_form())
    assert "Payment cancelled" in payer.follow(page).text
    assert state_of(api, payment)["code"] == "P0040"


def test_a_token_for_a_payment_the_service_cancelled_shows_the_outcome(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    api.post(f"/v1/payments/{payment['payment_id']}/cancel")
    page = payer.open(payment)
    assert page.status_code == 200 and "The service you’re trying to pay has cancelled your payment" in page.text


async def test_an_expired_payment_shows_the_expired_page(
    api: httpx.Client, payer: PayerBrowser, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    await age(pay_db, payment["payment_id"], created=timedelta(minutes=91))
    assert await tasks.expire_payments(worker_ctx) >= 1
    page = payer.get(f"/card_details/{payment['payment_id']}")
    assert "Your payment session has expired" in page.text and "90 minutes" in page.text
    assert state_of(api, payment)["code"] == "P0020"


async def test_a_payment_waiting_for_confirmation_expires_and_is_voided(
    api: httpx.Client, payer: PayerBrowser, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    payer.follow(submit(payer, payment, "4444333322221111"))
    await age(pay_db, payment["payment_id"], created=timedelta(minutes=91))
    assert await tasks.expire_payments(worker_ctx) >= 1
    await tasks.void_payment(worker_ctx, payment["payment_id"])
    assert state_of(api, payment)["code"] == "P0020"
    confirm = payer.post(f"/card_details/{payment['payment_id']}/confirm")
    assert "Your payment session has expired" in payer.follow(confirm).text


def test_an_already_paid_payment_says_so(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    payer.follow(submit(payer, payment, "4444333322221111"))
    payer.post(f"/card_details/{payment['payment_id']}/confirm")
    again = payer.post(f"/card_details/{payment['payment_id']}/confirm")  # a second click changes nothing
    assert "Your payment has already been made" in payer.follow(again).text
    assert public_events(api, payment) == ["created", "started", "submitted", "success"]


@pytest.mark.parametrize("page", ["/confirm", "/3ds_required", "/auth_waiting", "/capture_waiting"])
def test_a_page_the_status_does_not_call_for_redirects_to_the_right_one(
    api: httpx.Client, payer: PayerBrowser, page: str
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    response = payer.get(f"/card_details/{payment['payment_id']}{page}")
    assert response.status_code == 303 and path_of(response) == f"/card_details/{payment['payment_id']}"


def test_a_slow_provider_shows_auth_waiting_until_it_answers(
    pay_rig: PayRig, api: httpx.Client, payer: PayerBrowser
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    with slow_provider(pay_rig, delay_ms=600):
        card = submit(payer, payment, "4444333322221111")
        assert path_of(card) == f"/card_details/{payment['payment_id']}/auth_waiting"
        waiting = payer.get(card.headers["location"])
        assert waiting.status_code == 200 and 'role="status"' in waiting.text and "Check again" in waiting.text
        assert "http-equiv" not in waiting.text  # never a meta refresh
        cancel = payer.post(f"/card_details/{payment['payment_id']}/cancel")  # not during an authorisation
        assert path_of(cancel) == f"/card_details/{payment['payment_id']}/auth_waiting"
        assert wait_for(api, payment, "submitted")["status"] == "submitted"
    done = payer.get(f"/card_details/{payment['payment_id']}/auth_waiting")
    assert path_of(done) == f"/card_details/{payment['payment_id']}/confirm"


def test_a_provider_that_never_answers_in_time_is_an_error(
    pay_rig: PayRig, api: httpx.Client, payer: PayerBrowser
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    with slow_provider(pay_rig, delay_ms=3000, timeout=0.3):
        submit(payer, payment, "4444333322221111")
        state = wait_for(api, payment, "error")
    assert state["code"] == "P0050"
    assert "We’re experiencing technical problems" in payer.get(f"/card_details/{payment['payment_id']}").text


def test_an_account_can_send_the_payer_straight_back_on_a_terminal_state(pay_rig: PayRig, payer: PayerBrowser) -> None:
    tenant = pay_rig.tenant({"redirect_to_service_immediately_on_terminal_state": True})
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    payer.open(payment)
    declined = submit(payer, payment, DECLINED_CARD)
    assert path_of(declined) == f"/return/{payment['payment_id']}"
    assert payer.get(declined.headers["location"]).headers["location"] == RETURN_URL
    outcome = payer.get(f"/card_details/{payment['payment_id']}")
    assert path_of(outcome) == f"/return/{payment['payment_id']}"


def test_what_the_account_collects_decides_the_form(pay_rig: PayRig, payer: PayerBrowser) -> None:
    tenant = pay_rig.tenant({"collect_billing_address": False, "email_collection_mode": "OFF"})
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api, email="given@example.org")
    page = payer.open(payment)
    assert 'name="addressLine1"' not in page.text and 'name="email"' not in page.text
    form = {k: v for k, v in card_form().items() if not k.startswith("address") and k != "email"}
    payer.follow(payer.post(f"/card_details/{payment['payment_id']}", form))
    payer.post(f"/card_details/{payment['payment_id']}/confirm")
    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert got["card_details"]["billing_address"] is None and got["email"] == "given@example.org"


def test_prefilled_cardholder_details_fill_the_form(api: httpx.Client, payer: PayerBrowser) -> None:
    prefilled = {
        "cardholder_name": "Grace Hopper",
        "billing_address": {"line1": "2 Test Road", "city": "Swansea", "postcode": "SA1 1AA", "country": "ZZ"},
    }
    page = payer.open(new_payment(api, prefilled_cardholder_details=prefilled)).text
    assert 'value="Grace Hopper"' in page and 'value="2 Test Road"' in page and 'value="SA1 1AA"' in page
    assert '<option value="GB" selected>' in page  # an unknown country falls back to GB


def test_errors_are_shown_the_gov_uk_way_and_the_security_code_is_never_shown_again(
    api: httpx.Client, payer: PayerBrowser
) -> None:
    payment = new_payment(api)
    payer.open(payment)
    page = payer.post(
        f"/card_details/{payment['payment_id']}", card_form("4444333322221112", cvc="739", expiryMonth="13")
    )
    assert page.status_code == 200
    assert "<title>Error: Enter card details" in page.text
    assert "govuk-error-summary" in page.text and "There is a problem" in page.text
    assert 'href="#cardNo"' in page.text and 'href="#expiryMonth"' in page.text
    assert page.text.count("Enter a valid card number") == 2  # in the summary and by the field
    assert 'value="4444333322221112"' in page.text and 'value="739"' not in page.text
    assert state_of(api, payment) == STARTED


def test_a_corporate_card_surcharge_is_shown_and_charged(pay_rig: PayRig, payer: PayerBrowser) -> None:
    tenant = pay_rig.tenant({"corporate_surcharges": {"credit": 250}})
    api = pay_rig.api(tenant.account("test"))
    payment = new_payment(api)
    payer.open(payment)
    confirm = payer.follow(submit(payer, payment, "4111111111111111"))
    assert "£14.50" in confirm.text and "£2.50" in confirm.text
    payer.post(f"/card_details/{payment['payment_id']}/confirm")
    got = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert (got["corporate_card_surcharge"], got["total_amount"]) == (250, 1450)
