"""Agreements' API (pay spec §8, §5.1, §11): create, get, search and cancel with every error code, the agreement
rules of create payment, and the account switch. The card journeys and recurring payments are in
`test_agreements_recurring.py`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.pay.conftest import RETURN_URL, PayRig, Tenant

CREATED_BODY = {"reference": "CT-22-23-0001", "description": "Council tax 2022/23", "user_identifier": "user-1"}


def error(code: str, description: str, field: str | None = None) -> dict[str, str]:
    body = {"code": code, "description": description}
    if field is not None:
        body["field"] = field
    return body


def new_agreement(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {**CREATED_BODY, **overrides}
    response = api.post("/v1/agreements", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def switched_off(pay_rig: PayRig) -> Tenant:
    return pay_rig.tenant({"recurring_enabled": False})


def test_create_get_and_replay(pay_rig: PayRig, api: httpx.Client) -> None:
    response = api.post("/v1/agreements", json=CREATED_BODY, headers={"Idempotency-Key": "agreement-1"})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"agreement_id", "reference", "description", "status", "user_identifier", "created_date"}
    assert (created["status"], created["reference"], created["user_identifier"]) == (
        "created",
        "CT-22-23-0001",
        "user-1",
    )
    assert response.headers["location"] == f"{pay_rig.settings.api_root}/v1/agreements/{created['agreement_id']}"
    assert api.get(f"/v1/agreements/{created['agreement_id']}").json() == created

    replay = api.post("/v1/agreements", json=CREATED_BODY, headers={"Idempotency-Key": "agreement-1"})
    assert (replay.status_code, replay.json(), replay.headers["idempotent-replayed"]) == (201, created, "true")
    reused = api.post(
        "/v1/agreements", json={**CREATED_BODY, "reference": "other"}, headers={"Idempotency-Key": "agreement-1"}
    )
    assert reused.status_code == 409 and reused.json()["code"] == "P0191"

    # Another account, even the same service's live one, does not see it.
    other = pay_rig.api(pay_rig.main.account("live")).get(f"/v1/agreements/{created['agreement_id']}")
    assert (other.status_code, other.json()) == (404, error("P2200", "Not found"))


@pytest.mark.parametrize(
    ("payload", "status", "expected"),
    [
        (None, 400, error("P2197", "Unable to parse JSON")),
        ([1], 400, error("P2197", "Unable to parse JSON")),
        ({"description": "d"}, 400, error("P2101", "Missing mandatory attribute: reference", "reference")),
        (
            {"reference": " ", "description": "d"},
            400,
            error("P2101", "Missing mandatory attribute: reference", "reference"),
        ),
        ({"reference": "r"}, 400, error("P2101", "Missing mandatory attribute: description", "description")),
        (
            {"reference": 12, "description": "d"},
            400,
            error("P2102", "Invalid attribute value: reference. Must be a valid string format", "reference"),
        ),
        (
            {"reference": "r", "description": "d", "user_identifier": 5},
            400,
            error(
                "P2102", "Invalid attribute value: user_identifier. Must be a valid string format", "user_identifier"
            ),
        ),
        (
            {"reference": "r", "description": "a <b>"},
            400,
            error("P2102", "Invalid attribute value: description. Must be a valid string format", "description"),
        ),
        (  # as every pay POST (services/pay/requests.py): PostgreSQL cannot store a NUL
            {"reference": "r", "description": "d", "user_identifier": "user\u0000"},
            400,
            error(
                "P0920",
                "Request blocked by security rules. Please consult API documentation for more information. "
                "Reason: user_identifier contains a NUL character",
                "user_identifier",
            ),
        ),
        (
            {"reference": "r" * 256, "description": "d"},
            422,
            error(
                "P2102",
                "Invalid attribute value: reference. Must be less than or equal to 255 characters length",
                "reference",
            ),
        ),
        (
            {"reference": "r", "description": "d", "user_identifier": "u" * 256},
            422,
            error(
                "P2102",
                "Invalid attribute value: user_identifier. Must be less than or equal to 255 characters length",
                "user_identifier",
            ),
        ),
    ],
)
def test_create_errors(api: httpx.Client, payload: Any, status: int, expected: dict[str, str]) -> None:
    response = (
        api.post("/v1/agreements", json=payload)
        if payload is not None
        else api.post("/v1/agreements", content=b"{oops", headers={"Content-Type": "application/json"})
    )
    assert (response.status_code, response.json()) == (status, expected)


def test_an_empty_user_identifier_counts_as_absent(api: httpx.Client) -> None:
    assert "user_identifier" not in new_agreement(api, user_identifier="")


def test_recurring_payments_switched_off(pay_rig: PayRig, switched_off: Tenant) -> None:
    client = pay_rig.api(switched_off.account())
    expected = error("P0942", "Recurring card payments are currently disabled for this service. Please contact support")
    refused = client.post("/v1/agreements", json=CREATED_BODY)
    assert (refused.status_code, refused.json()) == (422, expected)
    # Validation comes first (§4.2): a missing field is still P2101.
    assert client.post("/v1/agreements", json={"reference": "r"}).json()["code"] == "P2101"
    payment = client.post(
        "/v1/payments",
        json={
            "amount": 100,
            "reference": "r",
            "description": "d",
            "authorisation_mode": "agreement",
            "agreement_id": "a" * 26,
        },
    )
    assert (payment.status_code, payment.json()) == (422, expected)


def test_recurring_payments_are_on_by_default_on_the_sandbox(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant({"live": {"provider": "sandbox"}})
    assert pay_rig.api(tenant.account("test")).post("/v1/agreements", json=CREATED_BODY).status_code == 201


def test_search(pay_rig: PayRig) -> None:
    api = pay_rig.api(pay_rig.tenant().account())
    made = [new_agreement(api, reference=f"REF-{i % 2}") for i in range(3)]
    page = api.get("/v1/agreements", params={"reference": "ref-0", "display_size": 1})
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["count"], body["page"]) == (2, 1, 1)
    assert body["results"] == [made[2]]  # newest first
    links = body["_links"]
    assert set(links) == {"self", "first_page", "last_page", "next_page"}
    assert links["next_page"]["href"].endswith("/v1/agreements?reference=ref-0&display_size=1&page=2")
    second = api.get("/v1/" + links["next_page"]["href"].split("/v1/", 1)[1]).json()
    assert second["results"] == [made[0]] and "prev_page" in second["_links"] and "next_page" not in second["_links"]
    assert api.get("/v1/agreements", params={"status": "created"}).json()["total"] == 3
    assert api.get("/v1/agreements", params={"status": "active"}).json() == {
        "total": 0,
        "count": 0,
        "page": 1,
        "results": [],
        "_links": {
            "self": {"href": f"{pay_rig.settings.api_root}/v1/agreements?status=active&page=1", "method": "GET"},
            "first_page": {"href": f"{pay_rig.settings.api_root}/v1/agreements?status=active&page=1", "method": "GET"},
            "last_page": {"href": f"{pay_rig.settings.api_root}/v1/agreements?status=active&page=1", "method": "GET"},
        },
    }

    bad = api.get("/v1/agreements", params={"status": "paused", "display_size": "501", "reference": "r" * 256})
    assert (bad.status_code, bad.json()) == (
        422,
        error(
            "P2401",
            "Invalid parameters: reference, status, display_size. "
            "See Public API documentation for the correct data formats",
        ),
    )
    past = api.get("/v1/agreements", params={"page": 9})
    assert (past.status_code, past.json()) == (404, error("P2402", "Page not found"))


def test_get_and_cancel_unknown_or_malformed(api: httpx.Client) -> None:
    for agreement_id in ("a" * 26, "not-an-id"):
        assert api.get(f"/v1/agreements/{agreement_id}").json() == error("P2200", "Not found")
        cancelled = api.post(f"/v1/agreements/{agreement_id}/cancel")
        assert (cancelled.status_code, cancelled.json()) == (404, error("P2500", "Not found"))


def test_only_an_active_agreement_can_be_cancelled(api: httpx.Client) -> None:
    agreement = new_agreement(api)
    refused = api.post(f"/v1/agreements/{agreement['agreement_id']}/cancel")
    assert (refused.status_code, refused.json()) == (400, error("P2501", "Cancellation of agreement failed"))


def test_create_payment_agreement_rules(api: httpx.Client) -> None:
    agreement = new_agreement(api)
    base = {"amount": 1500, "reference": "CT-1", "description": "Council tax"}
    setup = api.post(
        "/v1/payments",
        json={
            **base,
            "return_url": RETURN_URL,
            "set_up_agreement": agreement["agreement_id"],
            "agreement_payment_type": "recurring",
        },
    )
    assert setup.status_code == 201, setup.text
    body = setup.json()
    assert (body["agreement_id"], body["agreement_payment_type"], body["authorisation_mode"]) == (
        agreement["agreement_id"],
        "recurring",
        "web",
    )
    assert "next_url" in body["_links"]

    recurring = {**base, "authorisation_mode": "agreement", "agreement_id": agreement["agreement_id"]}
    not_active = api.post("/v1/payments", json=recurring)
    assert (not_active.status_code, not_active.json()) == (
        400,
        error(
            "P0102",
            "Invalid attribute value: agreement_id. Agreement must be active, but it is created",
            "agreement_id",
        ),
    )
    unknown = api.post("/v1/payments", json={**recurring, "agreement_id": "b" * 26})
    assert unknown.json() == error(
        "P0102", "Invalid attribute value: agreement_id. Agreement ID does not exist", "agreement_id"
    )
    missing = api.post("/v1/payments", json={**base, "authorisation_mode": "agreement"})
    assert missing.json() == error("P0101", "Missing mandatory attribute: agreement_id", "agreement_id")
    for field, value in (("return_url", RETURN_URL), ("email", "a@example.org"), ("set_up_agreement", "c" * 26)):
        forbidden = api.post("/v1/payments", json={**recurring, field: value})
        assert (forbidden.status_code, forbidden.json()) == (
            400,
            error("P0104", f"Unexpected attribute: {field}", field),
        )
    in_web = api.post(
        "/v1/payments", json={**base, "return_url": RETURN_URL, "agreement_id": agreement["agreement_id"]}
    )
    assert in_web.json() == error("P0104", "Unexpected attribute: agreement_id", "agreement_id")
    typed = api.post("/v1/payments", json={**base, "return_url": RETURN_URL, "agreement_payment_type": "recurring"})
    assert typed.json() == error("P0104", "Unexpected attribute: agreement_payment_type", "agreement_payment_type")
