"""Refunds (pay spec §6): availability, validation, the refund object and its links, settlement by the worker,
an error that gives the amount back, listing and search."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.payments import tasks as payment_tasks
from services.pay.provider.base import ProviderError
from services.pay.provider.sandbox import SandboxProvider
from services.pay.refunds import tasks as refund_tasks
from services.pay.refunds.models import Refund
from tests.pay.conftest import PayRig, authorise, change_pay_settings, moto_payment, new_payment

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def paid(rig: PayRig, api: httpx.Client, amount: int = 1000) -> dict[str, Any]:
    payment = moto_payment(api, amount=amount)
    assert authorise(rig, payment).status_code == 204
    return payment


def refund(api: httpx.Client, payment: dict[str, Any], **body: Any) -> httpx.Response:
    return api.post(f"/v1/payments/{payment['payment_id']}/refunds", json=body)


def summary(api: httpx.Client, payment: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = api.get(f"/v1/payments/{payment['payment_id']}").json()["refund_summary"]
    return result


def test_a_refund_is_202_and_submitted(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api)
    response = refund(api, payment, amount=300)
    assert response.status_code == 202
    body = response.json()
    payment_href = f"{pay_rig.gateway_url}/v1/payments/{payment['payment_id']}"
    assert body == {
        "refund_id": body["refund_id"],
        "payment_id": payment["payment_id"],
        "amount": 300,
        "status": "submitted",
        "created_date": body["created_date"],
        "settlement_summary": {},
        "_links": {
            "self": {"href": f"{payment_href}/refunds/{body['refund_id']}", "method": "GET"},
            "payment": {"href": payment_href, "method": "GET"},
        },
    }
    assert re.fullmatch(r"[0-9a-v]{26}", body["refund_id"]) and DATETIME.match(body["created_date"])
    assert summary(api, payment) == {"status": "available", "amount_available": 700, "amount_submitted": 300}


def test_partial_refunds_until_full(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api, amount=500)
    assert refund(api, payment, amount=200).status_code == 202
    assert refund(api, payment, amount=300, refund_amount_available=300).status_code == 202
    assert summary(api, payment) == {"status": "full", "amount_available": 0, "amount_submitted": 500}
    again = refund(api, payment, amount=1)
    assert (again.status_code, again.json()) == (
        400,
        {"code": "P0603", "description": "The payment is not available for refund. Payment refund status: full"},
    )


def test_more_than_is_available_is_refused(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api, amount=500)
    response = refund(api, payment, amount=501)
    assert response.json() == {
        "code": "P0603",
        "description": "The payment is not available for refund. Payment refund status: amount_not_available",
    }


def test_a_stale_amount_available_is_412(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api, amount=500)
    response = refund(api, payment, amount=100, refund_amount_available=400)
    assert (response.status_code, response.json()) == (
        412,
        {"code": "P0604", "description": "Refund amount available mismatch."},
    )
    assert summary(api, payment)["amount_submitted"] == 0


def test_unfinished_and_failed_payments_are_not_refundable(pay_rig: PayRig, api: httpx.Client) -> None:
    pending = new_payment(api)
    assert refund(api, pending, amount=1).json()["description"].endswith("Payment refund status: pending")
    failed = moto_payment(api)
    assert authorise(pay_rig, failed, "4000000000000002").status_code == 402
    assert refund(api, failed, amount=1).json()["description"].endswith("Payment refund status: unavailable")


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({}, 400, {"code": "P0601", "description": "Missing mandatory attribute: amount", "field": "amount"}),
        (
            {"amount": None},
            400,
            {"code": "P0601", "description": "Missing mandatory attribute: amount", "field": "amount"},
        ),
        (
            {"amount": "100"},
            400,
            {
                "code": "P0602",
                "description": "Invalid attribute value: amount. Must be a valid numeric format",
                "field": "amount",
            },
        ),
        (
            {"amount": 100, "refund_amount_available": "x"},
            400,
            {
                "code": "P0602",
                "description": "Invalid attribute value: refund_amount_available. Must be a valid numeric format",
                "field": "refund_amount_available",
            },
        ),
        (
            {"amount": 0},
            422,
            {
                "code": "P0602",
                "description": "Invalid attribute value: amount. Must be greater than or equal to 1",
                "field": "amount",
            },
        ),
        (
            {"amount": 10_000_001},
            422,
            {
                "code": "P0602",
                "description": "Invalid attribute value: amount. Must be less than or equal to 10000000",
                "field": "amount",
            },
        ),
        (
            {"amount": 5, "refund_amount_available": 0},
            422,
            {
                "code": "P0602",
                "description": "Invalid attribute value: refund_amount_available. Must be greater than or equal to 1",
                "field": "refund_amount_available",
            },
        ),
    ],
)
def test_validation(
    pay_rig: PayRig, api: httpx.Client, body: dict[str, Any], status: int, expected: dict[str, str]
) -> None:
    payment = new_payment(api)
    response = refund(api, payment, **body)
    assert (response.status_code, response.json()) == (status, expected)


def test_the_body_must_be_a_json_object(api: httpx.Client) -> None:
    payment = new_payment(api)
    path = f"/v1/payments/{payment['payment_id']}/refunds"
    assert api.post(path, content=b"[1]", headers={"Content-Type": "application/json"}).json() == {
        "code": "P0697",
        "description": "Unable to parse JSON",
    }
    assert api.post(path, content=b'{"amount": 1}', headers={"Content-Type": "text/plain"}).json()["code"] == "P0920"


def test_unknown_payment(api: httpx.Client) -> None:
    response = api.post("/v1/payments/nosuchpayment0000000000000/refunds", json={"amount": 1})
    assert (response.status_code, response.json()) == (404, {"code": "P0600", "description": "Not found"})


def test_a_disabled_account_refunds_nothing(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant({"allow_moto_api": True})
    api = pay_rig.api(tenant.account())
    payment = paid(pay_rig, api)
    change_pay_settings(pay_rig, tenant, {"allow_moto_api": True, "disabled": True})
    response = refund(api, payment, amount=1)
    assert response.status_code == 403 and response.json()["code"] == "P0941"


async def test_the_worker_settles_refunds_once_the_capture_is_done(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any]
) -> None:
    payment = paid(pay_rig, api)
    made = refund(api, payment, amount=250).json()
    await refund_tasks.submit_refund(worker_ctx, made["refund_id"])  # the capture is still queued: wait
    path = f"/v1/payments/{payment['payment_id']}/refunds/{made['refund_id']}"
    assert api.get(path).json()["status"] == "submitted"
    await payment_tasks.capture_payment(worker_ctx, payment["payment_id"])
    db: Database = worker_ctx["db"]
    async with db.write_session() as session:
        await session.execute(update(Refund).where(Refund.id == made["refund_id"]).values(next_attempt_at=utcnow()))
    await refund_tasks.submit_refund(worker_ctx, made["refund_id"])
    got = api.get(path)
    assert got.status_code == 200
    assert got.json() == {**made, "status": "success"}
    assert summary(api, payment) == {"status": "available", "amount_available": 750, "amount_submitted": 250}


async def test_a_refund_the_provider_refuses_gives_its_amount_back(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any]
) -> None:
    class Refusing(SandboxProvider):
        async def refund(self, **kwargs: Any) -> None:
            raise ProviderError("card closed")

    payment = paid(pay_rig, api, amount=800)
    await payment_tasks.capture_payment(worker_ctx, payment["payment_id"])
    made = refund(api, payment, amount=800).json()
    assert summary(api, payment)["status"] == "full"
    worker_ctx["providers"]["sandbox"] = Refusing()
    await refund_tasks.submit_refund(worker_ctx, made["refund_id"])
    got = api.get(f"/v1/payments/{payment['payment_id']}/refunds/{made['refund_id']}").json()
    assert got["status"] == "error"
    assert summary(api, payment) == {"status": "available", "amount_available": 800, "amount_submitted": 0}


def test_list_a_payments_refunds_oldest_first(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api)
    first = refund(api, payment, amount=100).json()
    second = refund(api, payment, amount=200).json()
    response = api.get(f"/v1/payments/{payment['payment_id']}/refunds")
    assert response.status_code == 200
    href = f"{pay_rig.gateway_url}/v1/payments/{payment['payment_id']}"
    assert response.json() == {
        "payment_id": payment["payment_id"],
        "_links": {"self": {"href": f"{href}/refunds", "method": "GET"}, "payment": {"href": href, "method": "GET"}},
        "_embedded": {"refunds": [first, second]},
    }
    assert api.get(f"/v1/payments/{new_payment(api)['payment_id']}/refunds").json()["_embedded"] == {"refunds": []}


def test_get_refund_unknowns(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = paid(pay_rig, api)
    made = refund(api, payment, amount=1).json()
    other = paid(pay_rig, api)
    for path in (
        f"/v1/payments/{payment['payment_id']}/refunds/nosuchrefund00000000000000",
        f"/v1/payments/{other['payment_id']}/refunds/{made['refund_id']}",
        f"/v1/payments/{payment['payment_id']}/refunds/bad",
        f"/v1/payments/nosuchpayment0000000000000/refunds/{made['refund_id']}",
    ):
        response = api.get(path)
        assert (response.status_code, response.json()) == (404, {"code": "P0700", "description": "Not found"}), path


def test_search_refunds(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant({"allow_moto_api": True})
    api = pay_rig.api(tenant.account())
    payment = paid(pay_rig, api)
    made = [refund(api, payment, amount=n).json() for n in (10, 20, 30)]
    everything = api.get("/v1/refunds")
    assert everything.status_code == 200
    body = everything.json()
    assert (body["total"], body["count"], body["page"]) == (3, 3, 1)
    assert body["results"] == list(reversed(made))
    paged = api.get("/v1/refunds", params={"display_size": 2, "page": 2}).json()
    assert paged["results"] == [made[0]] and set(paged["_links"]) == {"self", "first_page", "last_page", "prev_page"}
    assert api.get("/v1/refunds", params={"from_date": "2999-01-01T00:00:00Z"}).json()["total"] == 0
    assert api.get("/v1/refunds", params={"to_settled_date": "2999-01-01"}).json()["total"] == 0
    past = api.get("/v1/refunds", params={"page": 5})
    assert (past.status_code, past.json()) == (404, {"code": "P1100", "description": "Page not found"})
    bad = api.get("/v1/refunds", params={"from_date": "yesterday", "display_size": "0"})
    assert (bad.status_code, bad.json()) == (
        422,
        {
            "code": "P1101",
            "description": "Invalid parameters: from_date, display_size. See Public API documentation for the correct "
            "data formats",
        },
    )
    assert pay_rig.api(tenant.account("live")).get("/v1/refunds").json()["total"] == 0
