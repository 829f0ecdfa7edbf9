"""Pay's usage statistics (`GET /internal/services/{id}/usage`): one account's payments per UTC day by public state
and its refunds by status, counted and summed in the database (on SQLite and PostgreSQL, the rig's two backends);
only the gateway, for that service, may ask."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gaap.db.engine import Database
from gaap.internal import INTERNAL_SCOPE
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.pay.ids import new_id
from services.pay.payments.models import Payment
from services.pay.payments.states import PUBLIC_STATUSES
from services.pay.refunds.models import Refund
from tests.gateway.conftest import MASTER
from tests.pay.conftest import MAIN_SETTINGS, PayRig, Tenant, authorise, moto_payment

WEEK = {"from": "2026-03-01", "to": "2026-03-07"}


def internal(rig: PayRig, service_id: uuid.UUID, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})) -> httpx.Client:
    principal = Principal(request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=scopes)
    token = PrincipalSigner(parse_keyring(MASTER)).sign("pay", principal)
    return httpx.Client(base_url=rig.pay_url, headers={"X-Gaap-Principal": token}, timeout=30)


def usage(rig: PayRig, service_id: uuid.UUID, **params: str) -> dict[str, Any]:
    with internal(rig, service_id) as api:
        answer = api.get(f"/internal/services/{service_id}/usage", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def payment(tenant: Tenant, created: str, status: str, amount: int, mode: str = "live") -> Payment:
    return Payment(
        id=new_id(),
        service_id=tenant.service_id,
        mode=mode,
        amount=amount,
        reference="USAGE",
        description="Usage",
        language="en",
        authorisation_mode="web",
        provider="sandbox",
        status=status,
        created_at=datetime.fromisoformat(created),
    )


async def seed(rig: PayRig, tenant: Tenant) -> None:
    db = Database(rig.pay_db, pool_size=1)
    try:
        async with db.write_session() as session:
            paid = payment(tenant, "2026-03-01T00:00:00+00:00", "CAPTURED", 1500)
            session.add_all(
                [
                    payment(tenant, "2026-02-28T23:59:59+00:00", "CAPTURED", 9999),  # the day before
                    paid,
                    payment(tenant, "2026-03-01T10:00:00+00:00", "CAPTURE_APPROVED", 2500),  # success too
                    payment(tenant, "2026-03-01T11:00:00+00:00", "AUTHORISATION_REJECTED", 700),
                    payment(tenant, "2026-03-01T12:00:00+00:00", "USER_CANCELLED", 300),  # failed (P0030)
                    payment(tenant, "2026-03-01T13:00:00+00:00", "CAPTURED", 4000, mode="test"),  # the other account
                    payment(tenant, "2026-03-04T09:00:00+00:00", "ENTERING_CARD_DETAILS", 1200),
                    payment(tenant, "2026-03-07T23:59:59+00:00", "CREATED", 100),
                    payment(tenant, "2026-03-08T00:00:00+00:00", "CAPTURED", 9999),  # the day after
                ]
            )
            await session.flush()
            paid.refunded_amount = 800
            session.add_all(
                [
                    Refund(
                        id=new_id(),
                        payment_id=paid.id,
                        service_id=tenant.service_id,
                        mode="live",
                        amount=amount,
                        status=status,
                        created_at=datetime.fromisoformat(created),
                    )
                    for created, amount, status in [
                        ("2026-03-02T08:00:00+00:00", 500, "success"),
                        ("2026-03-02T09:00:00+00:00", 300, "success"),
                        ("2026-03-03T09:00:00+00:00", 200, "error"),
                    ]
                ]
            )
    finally:
        await db.dispose()


def test_payments_and_refunds_are_counted_and_summed_per_day(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant(MAIN_SETTINGS)
    asyncio.run(seed(pay_rig, tenant))
    body = usage(pay_rig, tenant.service_id, **WEEK)
    assert (body["from"], body["to"], body["mode"]) == ("2026-03-01", "2026-03-07", "live")
    days = {day["date"]: day for day in body["days"]}
    assert list(days) == [f"2026-03-0{n}" for n in range(1, 8)]
    first = days["2026-03-01"]["payments"]
    assert list(first) == list(PUBLIC_STATUSES)
    assert first["success"] == {"count": 2, "amount": 4000}
    assert first["failed"] == {"count": 2, "amount": 1000}
    assert first["created"] == {"count": 0, "amount": 0}
    assert days["2026-03-04"]["payments"]["started"] == {"count": 1, "amount": 1200}
    assert days["2026-03-07"]["payments"]["created"] == {"count": 1, "amount": 100}
    assert days["2026-03-02"]["refunds"] == {
        "submitted": {"count": 0, "amount": 0},
        "success": {"count": 2, "amount": 800},
        "error": {"count": 0, "amount": 0},
    }
    assert days["2026-03-03"]["refunds"]["error"] == {"count": 1, "amount": 200}
    paid = sum(t["amount"] for day in body["days"] for t in day["payments"].values())
    assert paid == 4000 + 1000 + 1200 + 100  # nothing from either side of the range or the test account
    test_account = usage(pay_rig, tenant.service_id, mode="test", **WEEK)
    assert test_account["days"][0]["payments"]["success"] == {"count": 1, "amount": 4000}
    assert all(sum(t["count"] for t in day["refunds"].values()) == 0 for day in test_account["days"])


def test_a_payment_made_today_is_counted_today(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant(MAIN_SETTINGS)
    api = pay_rig.api(tenant.account("test"))
    made = moto_payment(api, amount=1800)
    assert authorise(pay_rig, made).status_code == 204
    refunded = api.post(f"/v1/payments/{made['payment_id']}/refunds", json={"amount": 600})
    assert refunded.status_code == 202, refunded.text
    today = datetime.now(UTC).date().isoformat()
    body = usage(pay_rig, tenant.service_id, mode="test", **{"from": today, "to": today})
    (day,) = body["days"]
    assert day["date"] == today
    assert day["payments"]["success"] == {"count": 1, "amount": 1800}
    assert sum(t["count"] for t in day["refunds"].values()) == 1
    assert sum(t["amount"] for t in day["refunds"].values()) == 600
    assert usage(pay_rig, tenant.service_id, **{"from": today, "to": today})["days"][0]["payments"]["success"] == {
        "count": 0,
        "amount": 0,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-07", "to": "2026-03-01"}, "The range ends before it starts"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "The range is longer than 93 days"),
        ({"from": "2026-03-01", "to": "2026-02-30"}, "to"),
        ({**WEEK, "mode": "sandbox"}, "mode"),
    ],
)
def test_a_bad_query_is_a_platform_400(pay_rig: PayRig, params: dict[str, str], message: str) -> None:
    service_id = pay_rig.main.service_id
    with internal(pay_rig, service_id) as api:
        answer = api.get(f"/internal/services/{service_id}/usage", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error", "message", "request_id"} and message in body["message"]


def test_only_the_gateway_for_that_service_may_ask(pay_rig: PayRig) -> None:
    service_id = pay_rig.main.service_id
    path = f"/internal/services/{service_id}/usage"
    with internal(pay_rig, service_id, scopes=frozenset({"pay"})) as api:
        assert api.get(path, params=WEEK).json()["error"] == "NotInternal"
    with internal(pay_rig, uuid.uuid4()) as api:
        assert api.get(path, params=WEEK).json()["error"] == "WrongService"
    assert httpx.get(pay_rig.pay_url + path, params=WEEK).status_code == 401
    assert pay_rig.gateway(pay_rig.main.keys["test"]).get(path, params=WEEK).status_code == 404
