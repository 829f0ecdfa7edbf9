"""Create and get (pay spec §5.1–§5.3): the resource's shape, IDs, datetimes, omitted nulls, `_links` exactly when
§5.2 says, a fresh one-time `next_url` on every read, cache headers, events and framework errors."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from sqlalchemy import select, text

from gaap.db.engine import Database
from services.pay.payments.models import NextUrlToken
from services.pay.payments.tokens import token_hash
from tests.pay.conftest import RETURN_URL, PayRig, moto_payment, new_payment

ID = re.compile(r"^[0-9a-v]{26}$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_create_answers_201_with_the_resource(pay_rig: PayRig, api: httpx.Client) -> None:
    response = api.post(
        "/v1/payments",
        json={"amount": 1200, "description": "Pay your council tax", "reference": "CT-0001", "return_url": RETURN_URL},
    )
    assert response.status_code == 201
    body = response.json()
    payment_id = body["payment_id"]
    assert ID.match(payment_id)
    assert DATETIME.match(body["created_date"])
    assert response.headers["Location"] == f"{pay_rig.gateway_url}/v1/payments/{payment_id}"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    token = body["_links"]["next_url_post"]["params"]["chargeTokenId"]
    self_href = f"{pay_rig.gateway_url}/v1/payments/{payment_id}"
    assert body == {
        "amount": 1200,
        "description": "Pay your council tax",
        "reference": "CT-0001",
        "language": "en",
        "state": {"status": "created", "finished": False},
        "payment_id": payment_id,
        "payment_provider": "sandbox",
        "created_date": body["created_date"],
        "refund_summary": {"status": "pending", "amount_available": 1200, "amount_submitted": 0},
        "settlement_summary": {},
        "delayed_capture": False,
        "moto": False,
        "authorisation_mode": "web",
        "return_url": RETURN_URL,
        "_links": {
            "self": {"href": self_href, "method": "GET"},
            "next_url": {"href": f"{pay_rig.gateway_url}/secure/{token}", "method": "GET"},
            "next_url_post": {
                "href": f"{pay_rig.gateway_url}/secure",
                "method": "POST",
                "type": "application/x-www-form-urlencoded",
                "params": {"chargeTokenId": token},
            },
            "events": {"href": f"{self_href}/events", "method": "GET"},
            "refunds": {"href": f"{self_href}/refunds", "method": "GET"},
            "cancel": {"href": f"{self_href}/cancel", "method": "POST"},
        },
    }


def test_optional_fields_appear_when_set(api: httpx.Client) -> None:
    prefilled = {"cardholder_name": "Ada", "billing_address": {"line1": "1 High St", "postcode": "SW1A 1AA"}}
    body = new_payment(
        api, email="citizen@example.org", metadata={"ledger": "AB1", "n": 2}, prefilled_cardholder_details=prefilled
    )
    assert body["email"] == "citizen@example.org"
    assert body["metadata"] == {"ledger": "AB1", "n": 2}
    assert "prefilled_cardholder_details" not in body  # the pages use it; GOV.UK Pay does not echo it


def test_ids_are_unique(api: httpx.Client) -> None:
    ids = {new_payment(api)["payment_id"] for _ in range(20)}
    assert len(ids) == 20


def test_links_come_from_configuration_not_the_host_header(pay_rig: PayRig, api: httpx.Client) -> None:
    response = api.post(
        "/v1/payments",
        json={"amount": 1, "reference": "r", "description": "d", "return_url": RETURN_URL},
        headers={"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"},
    )
    hrefs = [link["href"] for link in response.json()["_links"].values()]
    assert all(href.startswith(pay_rig.gateway_url) for href in hrefs)


def test_every_read_gets_a_new_one_time_next_url(pay_rig: PayRig, api: httpx.Client) -> None:
    created = new_payment(api)
    first = api.get(f"/v1/payments/{created['payment_id']}")
    second = api.get(f"/v1/payments/{created['payment_id']}")
    assert first.headers["Cache-Control"] == "no-store" and first.headers["Pragma"] == "no-cache"
    tokens = {r["_links"]["next_url_post"]["params"]["chargeTokenId"] for r in (created, first.json(), second.json())}
    assert len(tokens) == 3
    assert {r["_links"]["next_url"]["href"].rsplit("/", 1)[1] for r in (first.json(), second.json())} <= tokens

    async def stored() -> tuple[int, set[str]]:
        db = Database(pay_rig.pay_db, pool_size=1)
        try:
            async with db.read_session() as session:
                query = select(NextUrlToken.token_hash).where(NextUrlToken.payment_id == created["payment_id"])
                hashes = set((await session.execute(query)).scalars())
                dump = await session.execute(text("SELECT token_hash FROM next_url_tokens"))
                return len(hashes), {row[0] for row in dump}
        finally:
            await db.dispose()

    count, everything = asyncio.run(stored())
    assert count == 3
    assert {token_hash(t) for t in tokens} <= everything
    assert not tokens & everything  # only hashes are kept


def test_a_moto_api_payment_has_one_auth_token_and_no_next_url(pay_rig: PayRig, api: httpx.Client) -> None:
    created = moto_payment(api)
    assert "return_url" not in created
    links = created["_links"]
    assert set(links) == {"self", "auth_url_post", "events", "refunds", "cancel"}
    assert links["auth_url_post"]["href"] == f"{pay_rig.gateway_url}/v1/auth"
    assert links["auth_url_post"]["type"] == "application/json"
    again = api.get(f"/v1/payments/{created['payment_id']}").json()
    assert again["_links"]["auth_url_post"] == links["auth_url_post"]
    assert created["authorisation_mode"] == "moto_api"


@pytest.mark.parametrize("path", ["", "/events", "/refunds"])
@pytest.mark.parametrize("payment_id", ["nosuchpayment0000000000000", "short", "UPPERCASE0000000000000000A", "x" * 27])
def test_unknown_or_malformed_ids_are_the_endpoints_404(api: httpx.Client, payment_id: str, path: str) -> None:
    code = {"": "P0200", "/events": "P0300", "/refunds": "P0800"}[path]
    response = api.get(f"/v1/payments/{payment_id}{path}")
    assert response.status_code == 404
    assert response.json() == {"code": code, "description": "Not found"}


def test_events_show_each_public_status_once(pay_rig: PayRig, api: httpx.Client) -> None:
    created = new_payment(api)
    payment_id = created["payment_id"]
    assert api.post(f"/v1/payments/{payment_id}/cancel").status_code == 204
    events = api.get(f"/v1/payments/{payment_id}/events")
    assert events.status_code == 200
    body = events.json()
    href = f"{pay_rig.gateway_url}/v1/payments/{payment_id}"
    assert body["payment_id"] == payment_id
    assert body["_links"] == {"self": {"href": f"{href}/events", "method": "GET"}}
    assert [e["state"] for e in body["events"]] == [
        {"status": "created", "finished": False},
        {"status": "cancelled", "finished": True, "code": "P0040", "message": "Payment was cancelled by the service"},
    ]
    for event in body["events"]:
        assert event["payment_id"] == payment_id
        assert DATETIME.match(event["updated"])
        assert event["_links"] == {"payment_url": {"href": href, "method": "GET"}}


def test_unknown_paths_and_methods_answer_in_dropwizard_style(api: httpx.Client) -> None:
    unknown = api.get("/v1/no-such-thing")
    assert (unknown.status_code, unknown.json()) == (404, {"code": 404, "message": "HTTP 404 Not Found"})
    wrong = api.delete("/v1/payments")
    assert (wrong.status_code, wrong.json()) == (405, {"code": 405, "message": "HTTP 405 Method Not Allowed"})


def test_no_request_without_a_principal_reaches_the_api(pay_rig: PayRig) -> None:
    with httpx.Client(base_url=pay_rig.pay_url) as client:
        response = client.get("/v1/payments")
    assert response.status_code == 401
    assert "detail" not in response.json()


def test_through_the_gateway_with_a_real_key(pay_rig: PayRig) -> None:
    client = pay_rig.gateway(pay_rig.main.keys["test"])
    created = new_payment(client, reference="via-gateway")
    got = client.get(f"/v1/payments/{created['payment_id']}")
    assert got.status_code == 200
    assert got.json()["reference"] == "via-gateway"
    assert got.headers["X-Request-ID"]


def test_the_gateway_answers_401_without_a_key(pay_rig: PayRig) -> None:
    response = pay_rig.gateway("").get("/v1/payments")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.content == b""


def test_payments_are_rows_committed_before_the_answer(pay_rig: PayRig, api: httpx.Client) -> None:
    payment_id = new_payment(api)["payment_id"]

    async def count() -> int:
        db = Database(pay_rig.pay_db, pool_size=1)
        try:
            async with db.read_session() as session:
                return int(
                    (
                        await session.execute(text("SELECT count(*) FROM payments WHERE id = :i"), {"i": payment_id})
                    ).scalar_one()
                )
        finally:
            await db.dispose()

    assert asyncio.run(count()) == 1
