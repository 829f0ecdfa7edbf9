"""The contract with GOV.UK Pay's OpenAPI document (pay spec §1): every response in this suite is validated against
it by the clients' response hook (`tests/pay/openapi_contract.py`). This module proves the hook has teeth, then
walks every endpoint through the real gateway with a real key, and checks that each status the walk produces was
validated."""

from __future__ import annotations

from typing import Any

import httpx

from tests.pay.conftest import RETURN_URL, PayRig
from tests.pay.openapi_contract import CONTRACT


def test_the_validator_rejects_what_the_reference_forbids() -> None:
    payment = CONTRACT.validator("PaymentWithAllLinks")
    assert not list(payment.iter_errors({"amount": 1, "state": {"status": "created", "finished": False}}))
    assert list(payment.iter_errors({"amount": "1"}))
    assert list(payment.iter_errors({"state": {"finished": "no"}}))
    assert list(payment.iter_errors({"_links": {"self": {"href": 1}}}))
    assert list(payment.iter_errors({"authorisation_mode": "agreement-ish"}))
    assert list(CONTRACT.validator("RequestError").iter_errors({"code": 404}))


def test_only_the_documented_java_renderings_are_relaxed() -> None:
    payment = CONTRACT.validator("PaymentWithAllLinks")
    card = {
        "last_digits_card_number": "1111",
        "first_digits_card_number": "444433",
        "cardholder_name": "A",
        "expiry_date": "12/30",
        "billing_address": None,
        "card_brand": "Visa",
        "card_type": None,
        "wallet_type": None,
    }
    assert not list(payment.iter_errors({"card_details": card}))
    assert list(payment.iter_errors({"card_details": {**card, "card_type": "charge"}}))
    link = {"href": "https://x", "method": "POST", "type": "application/json", "params": {"one_time_token": "t"}}
    assert not list(payment.iter_errors({"_links": {"auth_url_post": link}}))


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_every_endpoint_through_the_gateway(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant({"allow_moto_api": True, "live": {"allow_moto_api": True}})
    before = CONTRACT.checked.copy()
    api = pay_rig.gateway(tenant.keys["test"])
    anonymous = pay_rig.gateway("")
    web = {"amount": 1000, "reference": "walk", "description": "The walk", "return_url": RETURN_URL}
    moto = {"amount": 1000, "reference": "walk", "description": "The walk", "authorisation_mode": "moto_api"}

    created = expect(api.post("/v1/payments", json=web, headers={"Idempotency-Key": "walk-1"}), 201)
    expect(api.post("/v1/payments", json=web, headers={"Idempotency-Key": "walk-1"}), 200)
    expect(api.post("/v1/payments", json={**web, "amount": 5}, headers={"Idempotency-Key": "walk-1"}), 409)
    expect(api.post("/v1/payments", json={**web, "amount": "x"}), 400)
    expect(api.post("/v1/payments", json={**web, "amount": 0}), 422)
    expect(pay_rig.gateway(pay_rig.tenant().keys["live"]).post("/v1/payments", json=web), 403)
    payment_id = created["payment_id"]
    expect(api.get(f"/v1/payments/{payment_id}"), 200)
    expect(api.get("/v1/payments/nosuchpayment0000000000000"), 404)
    expect(api.get(f"/v1/payments/{payment_id}/events"), 200)
    expect(api.get("/v1/payments/nosuchpayment0000000000000/events"), 404)
    expect(api.get("/v1/payments", params={"reference": "walk"}), 200)
    expect(api.get("/v1/payments", params={"state": "nope"}), 422)
    expect(api.get("/v1/payments", params={"page": 99}), 404)
    expect(api.post(f"/v1/payments/{payment_id}/capture"), 409)
    expect(api.post("/v1/payments/nosuchpayment0000000000000/capture"), 404)
    expect(api.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 1}), 400)
    expect(api.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 0}), 422)
    expect(api.post("/v1/payments/nosuchpayment0000000000000/refunds", json={"amount": 1}), 404)
    expect(api.post(f"/v1/payments/{payment_id}/cancel"), 204)
    expect(api.post(f"/v1/payments/{payment_id}/cancel"), 400)
    expect(api.post("/v1/payments/nosuchpayment0000000000000/cancel"), 404)

    delayed = expect(api.post("/v1/payments", json={**moto, "delayed_capture": True}), 201)
    token = delayed["_links"]["auth_url_post"]["params"]["one_time_token"]
    card = {"card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/39", "cardholder_name": "Walk"}
    expect(anonymous.post("/v1/auth", json={"one_time_token": token, **card}), 204)
    expect(anonymous.post("/v1/auth", json={"one_time_token": "unknown", **card}), 400)
    expect(anonymous.post("/v1/auth", json={"one_time_token": token, **card, "cvc": "1"}), 422)
    expect(api.post(f"/v1/payments/{delayed['payment_id']}/capture"), 204)
    refund = expect(
        api.post(
            f"/v1/payments/{delayed['payment_id']}/refunds", json={"amount": 400, "refund_amount_available": 1000}
        ),
        202,
    )
    expect(
        api.post(f"/v1/payments/{delayed['payment_id']}/refunds", json={"amount": 1, "refund_amount_available": 1}), 412
    )
    expect(api.get(f"/v1/payments/{delayed['payment_id']}/refunds"), 200)
    expect(api.get("/v1/payments/nosuchpayment0000000000000/refunds"), 404)
    expect(api.get(f"/v1/payments/{delayed['payment_id']}/refunds/{refund['refund_id']}"), 200)
    expect(api.get(f"/v1/payments/{delayed['payment_id']}/refunds/nosuchrefund00000000000000"), 404)
    expect(api.get("/v1/refunds"), 200)
    expect(api.get("/v1/refunds", params={"from_date": "x"}), 422)
    expect(api.get("/v1/refunds", params={"page": 9}), 404)
    expect(api.get("/v1/disputes"), 200)
    expect(api.get("/v1/disputes", params={"status": "open"}), 422)
    expect(api.get("/v1/disputes", params={"page": 9}), 404)
    agreement = expect(api.post("/v1/agreements", json={"reference": "walk", "description": "The walk"}), 201)
    expect(api.post("/v1/agreements", json={"reference": 1, "description": "The walk"}), 400)
    expect(api.post("/v1/agreements", json={"reference": "w" * 256, "description": "The walk"}), 422)
    expect(api.get(f"/v1/agreements/{agreement['agreement_id']}"), 200)
    expect(api.get("/v1/agreements/nosuchagreement000000000000"), 404)
    expect(api.get("/v1/agreements", params={"reference": "walk"}), 200)
    expect(api.get("/v1/agreements", params={"status": "paused"}), 422)
    expect(api.get("/v1/agreements", params={"page": 9}), 404)
    expect(api.post(f"/v1/agreements/{agreement['agreement_id']}/cancel"), 400)
    expect(api.post("/v1/agreements/nosuchagreement000000000000/cancel"), 404)

    declined = expect(api.post("/v1/payments", json=moto), 201)
    token = declined["_links"]["auth_url_post"]["params"]["one_time_token"]
    expect(anonymous.post("/v1/auth", json={"one_time_token": token, **card, "card_number": "4000000000000002"}), 402)
    broken = expect(api.post("/v1/payments", json=moto), 201)
    token = broken["_links"]["auth_url_post"]["params"]["one_time_token"]
    expect(anonymous.post("/v1/auth", json={"one_time_token": token, **card, "card_number": "4000000000000119"}), 500)
    unauthenticated = pay_rig.gateway("").get("/v1/payments")
    assert unauthenticated.status_code == 401

    walked = CONTRACT.checked - before
    expected = {
        ("POST", "/v1/payments", s) for s in (200, 201, 400, 403, 409, 422)
    } | {
        ("GET", "/v1/payments/{paymentId}", s) for s in (200, 404)
    } | {
        ("GET", "/v1/payments/{paymentId}/events", s) for s in (200, 404)
    } | {
        ("GET", "/v1/payments", s) for s in (200, 401, 404, 422)
    } | {
        ("POST", "/v1/payments/{paymentId}/cancel", s) for s in (204, 400, 404)
    } | {
        ("POST", "/v1/payments/{paymentId}/capture", s) for s in (204, 404, 409)
    } | {
        ("POST", "/v1/payments/{paymentId}/refunds", s) for s in (202, 400, 404, 412, 422)
    } | {
        ("GET", "/v1/payments/{paymentId}/refunds", s) for s in (200, 404)
    } | {
        ("GET", "/v1/payments/{paymentId}/refunds/{refundId}", s) for s in (200, 404)
    } | {
        ("GET", "/v1/refunds", s) for s in (200, 404, 422)
    } | {
        ("GET", "/v1/disputes", s) for s in (200, 404, 422)
    } | {
        ("POST", "/v1/agreements", s) for s in (201, 400, 422)
    } | {
        ("GET", "/v1/agreements/{agreementId}", s) for s in (200, 404)
    } | {
        ("GET", "/v1/agreements", s) for s in (200, 404, 422)
    } | {
        ("POST", "/v1/agreements/{agreementId}/cancel", s) for s in (400, 404)
    } | {("POST", "/v1/auth", s) for s in (204, 400, 402, 422, 500)}  # fmt: skip
    assert expected <= set(walked), sorted(expected - set(walked))
