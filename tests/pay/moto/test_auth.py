"""MOTO authorisation by API (pay spec §7) with the sandbox's test cards (§13.5): outcomes, the kept card fields,
single-use tokens, validation, and the provider timeout."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.pay.provider.sandbox import SandboxProvider
from tests.pay.conftest import PayRig, Tenant, authorise, moto_payment, new_payment

SUCCESS = "4444333322221111"


def get(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v1/payments/{payment['payment_id']}").json()
    return body


def test_an_authorised_card_succeeds(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api, amount=1500)
    response = authorise(pay_rig, payment, SUCCESS, expiry_date="04/30")
    assert response.status_code == 204, response.text
    assert response.content == b""
    got = get(api, payment)
    assert got["state"] == {"status": "success", "finished": True}
    assert got["card_details"] == {
        "last_digits_card_number": "1111",
        "first_digits_card_number": "444433",
        "cardholder_name": "Ada Lovelace",
        "expiry_date": "04/30",
        "billing_address": None,
        "card_brand": "Visa",
        "card_type": "credit",
        "wallet_type": None,
    }
    assert got["card_brand"] == "Visa"
    assert got["provider_id"] == f"sandbox-{payment['payment_id']}"
    assert got["refund_summary"] == {"status": "available", "amount_available": 1500, "amount_submitted": 0}
    assert set(got["_links"]) == {"self", "events", "refunds"}
    states = [e["state"]["status"] for e in api.get(f"/v1/payments/{payment['payment_id']}/events").json()["events"]]
    assert states == ["created", "started", "success"]


def test_through_the_gateway_without_a_key(pay_rig: PayRig) -> None:
    client = pay_rig.gateway(pay_rig.main.keys["test"])
    payment = moto_payment(client)
    token = payment["_links"]["auth_url_post"]["params"]["one_time_token"]
    anonymous = pay_rig.gateway("")
    card = {"card_number": SUCCESS, "cvc": "123", "expiry_date": "12/39", "cardholder_name": "A"}
    response = anonymous.post("/v1/auth", json={"one_time_token": token, **card})
    assert response.status_code == 204, response.text
    assert client.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "success"


def test_delayed_capture_ends_capturable(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api, delayed_capture=True)
    assert authorise(pay_rig, payment).status_code == 204
    got = get(api, payment)
    assert got["state"] == {"status": "capturable", "finished": False}
    assert {"capture", "cancel", "auth_url_post"} <= set(got["_links"])
    assert got["refund_summary"]["status"] == "pending"


@pytest.mark.parametrize(
    ("card", "status", "code"),
    [
        ("4000000000000002", 402, "P0010"),
        ("4000000000000069", 402, "P0010"),
        ("4000000000000127", 402, "P0010"),
        ("4000000000009995", 402, "P0010"),
        ("4000000000000119", 500, "P0050"),
        ("4000000000000036", 500, "P0050"),  # Luhn-valid Visa the sandbox does not know: unsupported card
    ],
)
def test_declines_and_errors(pay_rig: PayRig, api: httpx.Client, card: str, status: int, code: str) -> None:
    payment = moto_payment(api)
    response = authorise(pay_rig, payment, card)
    assert response.status_code == status
    assert response.json()["code"] == code
    state = get(api, payment)["state"]
    expected = (
        {"status": "failed", "finished": True, "code": "P0010", "message": "Payment method rejected"}
        if code == "P0010"
        else {"status": "error", "finished": True, "code": "P0050", "message": "Payment provider returned an error"}
    )
    assert state == expected
    assert get(api, payment)["refund_summary"]["status"] == "unavailable"


@pytest.mark.parametrize(
    "card",
    [
        "4242424242424242",
        "4000056655665556",
        "4917610000000000003",
        "4000000000000010",
        "5555555555554444",
        "5105105105105100",
        "371449635398431",
        "3566002020360505",
        "6011000990139424",
        "36148900647913",
        "4000002500003155",
        "4000002760003184",
    ],
)
def test_every_sandbox_success_card_authorises(pay_rig: PayRig, api: httpx.Client, card: str) -> None:
    payment = moto_payment(api)
    assert authorise(pay_rig, payment, card).status_code == 204
    details = get(api, payment)["card_details"]
    assert details["last_digits_card_number"] == card[-4:]
    assert details["first_digits_card_number"] == card[:6]


def test_spaces_in_the_card_number_are_ignored(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    assert authorise(pay_rig, payment, "4444 3333 2222 1111").status_code == 204


def test_a_card_number_failing_luhn_is_402_and_the_token_stays_usable(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    response = authorise(pay_rig, payment, "4444333322221112")
    assert response.status_code == 402
    assert response.json() == {"code": "P0010", "description": "The card_number is not a valid card number"}
    assert get(api, payment)["state"]["status"] == "created"
    assert authorise(pay_rig, payment).status_code == 204


def test_a_brand_the_account_does_not_take_is_402(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    response = authorise(pay_rig, payment, "6759649826438453")  # Maestro: not accepted by default
    assert response.status_code == 402
    assert response.json()["code"] == "P0010"


@pytest.fixture(scope="module")
def strict(pay_rig: PayRig) -> Tenant:
    return pay_rig.tenant(
        {
            "allow_moto_api": True,
            "block_prepaid_cards": True,
            "accepted_cards": [{"brand": "visa", "type": "credit"}, {"brand": "visa", "type": "debit"}],
            "corporate_surcharges": {"credit": 250, "debit": 50},
        }
    )


def test_prepaid_cards_can_be_blocked(pay_rig: PayRig, strict: Tenant) -> None:
    payment = moto_payment(pay_rig.api(strict.account()))
    response = authorise(pay_rig, payment, "4000160000000004")
    assert response.status_code == 402


def test_a_type_the_account_does_not_take_is_402(pay_rig: PayRig, strict: Tenant) -> None:
    payment = moto_payment(pay_rig.api(strict.account()))
    assert authorise(pay_rig, payment, "5555555555554444").status_code == 402  # Mastercard


def test_corporate_cards_pay_the_surcharge(pay_rig: PayRig, strict: Tenant) -> None:
    api = pay_rig.api(strict.account())
    payment = moto_payment(api, amount=1200)
    assert authorise(pay_rig, payment, "4111111111111111").status_code == 204  # Visa credit, corporate
    got = get(api, payment)
    assert got["corporate_card_surcharge"] == 250
    assert got["total_amount"] == 1450
    assert got["refund_summary"]["amount_available"] == 1450


def test_an_unknown_token_is_p1211(pay_rig: PayRig) -> None:
    response = pay_rig.anonymous().post(
        "/v1/auth",
        json={
            "one_time_token": "nope",
            "card_number": SUCCESS,
            "cvc": "123",
            "expiry_date": "12/39",
            "cardholder_name": "A",
        },
    )
    assert response.status_code == 400
    assert response.json() == {"code": "P1211", "description": "The one_time_token is not a valid moto api token."}


def test_a_used_token_is_p1212_while_the_payment_is_open(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api, delayed_capture=True)
    assert authorise(pay_rig, payment).status_code == 204
    again = authorise(pay_rig, payment)
    assert again.status_code == 400
    assert again.json() == {"code": "P1212", "description": "The one_time_token has already been used."}


def test_the_token_dies_with_the_payment(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    assert api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    assert authorise(pay_rig, payment).json()["code"] == "P1211"
    finished = moto_payment(api)
    assert authorise(pay_rig, finished).status_code == 204
    assert authorise(pay_rig, finished).json()["code"] == "P1211"


def test_a_web_payment_has_no_auth_token(pay_rig: PayRig, api: httpx.Client) -> None:
    assert "auth_url_post" not in new_payment(api)["_links"]


@pytest.mark.parametrize(
    ("change", "status", "expected"),
    [
        ({"one_time_token": None}, 400, ("P0101", "Missing mandatory attribute: one_time_token", "one_time_token")),
        ({"card_number": ""}, 400, ("P0101", "Missing mandatory attribute: card_number", "card_number")),
        ({"cvc": ...}, 400, ("P0101", "Missing mandatory attribute: cvc", "cvc")),
        (
            {"expiry_date": 1230},
            400,
            ("P0102", "Invalid attribute value: expiry_date. Must be a valid string format", "expiry_date"),
        ),
        (
            {"card_number": "4444-3333"},
            422,
            ("P0102", "Invalid attribute value: card_number. Must be between 12 and 19 digits", "card_number"),
        ),
        ({"cvc": "12"}, 422, ("P0102", "Invalid attribute value: cvc. Must be between 3 and 4 digits", "cvc")),
        ({"cvc": "12345"}, 422, ("P0102", "Invalid attribute value: cvc. Must be between 3 and 4 digits", "cvc")),
        (
            {"expiry_date": "13/30"},
            422,
            (
                "P0102",
                "Invalid attribute value: expiry_date. Must be a valid date with the format MM/YY",
                "expiry_date",
            ),
        ),
        (
            {"expiry_date": "1/30"},
            422,
            (
                "P0102",
                "Invalid attribute value: expiry_date. Must be a valid date with the format MM/YY",
                "expiry_date",
            ),
        ),
        (
            {"cardholder_name": "n" * 256},
            422,
            (
                "P0102",
                "Invalid attribute value: cardholder_name. Must be less than or equal to 255 characters length",
                "cardholder_name",
            ),
        ),
    ],
)
def test_validation(
    pay_rig: PayRig, api: httpx.Client, change: dict[str, Any], status: int, expected: tuple[str, str, str]
) -> None:
    payment = moto_payment(api)
    body = {
        "one_time_token": payment["_links"]["auth_url_post"]["params"]["one_time_token"],
        "card_number": SUCCESS,
        "cvc": "123",
        "expiry_date": "12/39",
        "cardholder_name": "Ada",
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not ...}
    response = pay_rig.anonymous().post("/v1/auth", json=body)
    code, description, field = expected
    assert (response.status_code, response.json()) == (
        status,
        {"code": code, "description": description, "field": field},
    )
    assert get(api, payment)["state"]["status"] == "created"


def test_no_card_data_is_echoed_in_errors(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    response = authorise(pay_rig, payment, "4444333322221112", cvc="98765")
    assert "4444333322221112" not in response.text and "98765" not in response.text


def test_a_provider_that_does_not_answer_in_time_is_an_error(pay_rig: PayRig, api: httpx.Client) -> None:
    provider = pay_rig.app.state.providers["sandbox"]
    assert isinstance(provider, SandboxProvider)
    provider.auth_delay, pay_rig.settings.authorisation_timeout_seconds = 1.0, 0.2
    try:
        payment = moto_payment(api)
        response = authorise(pay_rig, payment)
    finally:
        provider.auth_delay, pay_rig.settings.authorisation_timeout_seconds = 0, 10.0
    assert response.status_code == 500
    assert response.json() == {"code": "P0050", "description": "There was an error authorising the payment"}
    assert get(api, payment)["state"]["code"] == "P0050"


def test_the_auth_body_must_be_json(pay_rig: PayRig) -> None:
    response = pay_rig.anonymous().post("/v1/auth", content=b"one_time_token=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400 and response.json()["code"] == "P0920"
    unparsable = pay_rig.anonymous().post("/v1/auth", content=b"{", headers={"Content-Type": "application/json"})
    assert unparsable.json() == {"code": "P0197", "description": "Unable to parse JSON"}
    assert re.fullmatch(r"P\d{4}", unparsable.json()["code"])
