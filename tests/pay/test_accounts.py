"""Accounts (pay spec §3): the gateway's push of a service's test and live accounts, pay's validation of it, and
the isolation of one account's payments from every other's, including the same service's other mode."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select

from gaap.db.engine import Database
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.pay.accounts.models import Account as AccountRow
from services.pay.accounts.service import DEFAULT_ACCEPTED_CARDS
from tests.gateway.conftest import MASTER
from tests.pay.conftest import RETURN_URL, Account, PayRig, change_pay_settings, new_payment


def accounts_of(rig: PayRig, service_id: uuid.UUID) -> dict[str, AccountRow]:
    async def read() -> dict[str, AccountRow]:
        db = Database(rig.pay_db, pool_size=1)
        try:
            async with db.read_session() as session:
                rows = (await session.execute(select(AccountRow).where(AccountRow.service_id == service_id))).scalars()
                found = {row.mode: row for row in rows}
                session.expunge_all()
                return found
        finally:
            await db.dispose()

    return asyncio.run(read())


def internal(
    rig: PayRig, service_id: uuid.UUID, *, scopes: frozenset[str] = frozenset({"gaap:internal"})
) -> httpx.Client:
    token = PrincipalSigner(parse_keyring(MASTER)).sign(
        "pay", Principal(request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=scopes)
    )
    return httpx.Client(base_url=rig.pay_url, headers={"X-Gaap-Principal": token})


def document(version: int, **settings: object) -> dict[str, object]:
    return {
        "version": version,
        "name": "Direct",
        "organisation_id": str(uuid.uuid4()),
        "active": True,
        "settings": settings,
    }


def test_the_push_creates_a_test_and_a_live_account(pay_rig: PayRig) -> None:
    accounts = accounts_of(pay_rig, pay_rig.main.service_id)
    assert set(accounts) == {"test", "live"}
    test, live = accounts["test"], accounts["live"]
    assert test.provider == "sandbox" and live.provider == "sandbox"
    assert test.allow_moto and test.allow_moto_api and live.allow_moto
    assert test.collect_billing_address and test.email_collection_mode == "MANDATORY"
    assert not test.disabled and not test.allow_zero_amount and not test.block_prepaid_cards
    assert sorted(map(tuple, test.accepted_cards)) == sorted(map(tuple, DEFAULT_ACCEPTED_CARDS))
    assert all(brand != "maestro" for brand, _ in test.accepted_cards)


def test_a_live_account_without_a_provider_is_not_configured(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    accounts = accounts_of(pay_rig, tenant.service_id)
    assert accounts["test"].provider == "sandbox"
    assert accounts["live"].provider is None
    response = pay_rig.api(tenant.account("live")).post(
        "/v1/payments", json={"amount": 100, "reference": "r", "description": "d", "return_url": RETURN_URL}
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": "P0940",
        "description": "Account is not fully configured. Please refer to documentation to setup your account or "
        "contact support.",
    }


def test_mode_overrides_apply_to_one_account(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant(
        {
            "allow_zero_amount": True,
            "accepted_cards": [{"brand": "visa", "type": "debit"}],
            "corporate_surcharges": {"credit": 250},
            "test": {"allow_zero_amount": False, "email_collection_mode": "OFF"},
        }
    )
    accounts = accounts_of(pay_rig, tenant.service_id)
    assert accounts["live"].allow_zero_amount and not accounts["test"].allow_zero_amount
    assert accounts["test"].email_collection_mode == "OFF" and accounts["live"].email_collection_mode == "MANDATORY"
    assert accounts["test"].accepted_cards == [["visa", "debit"]]
    assert accounts["test"].corporate_surcharges == {"credit": 250, "debit": 0, "prepaid_debit": 0}


def test_a_changed_setting_reaches_pay_and_an_older_push_is_ignored(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    assert change_pay_settings(pay_rig, tenant, {"disabled": True}) == {"delivered": 1}
    held = accounts_of(pay_rig, tenant.service_id)
    assert held["test"].disabled and held["live"].disabled
    with internal(pay_rig, tenant.service_id) as client:
        stale = client.put(f"/internal/services/{tenant.service_id}", json=document(1))
    assert stale.status_code == 200
    assert stale.json()["version"] == held["test"].version
    assert accounts_of(pay_rig, tenant.service_id)["test"].disabled


def test_pushing_the_same_document_twice_changes_nothing(pay_rig: PayRig) -> None:
    service_id = uuid.uuid4()
    with internal(pay_rig, service_id) as client:
        first = client.put(f"/internal/services/{service_id}", json=document(5, allow_moto=True))
        again = client.put(f"/internal/services/{service_id}", json=document(5, allow_moto=True))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert [a["mode"] for a in first.json()["accounts"]] == ["live", "test"]


@pytest.mark.parametrize(
    ("settings", "status", "message"),
    [
        ({"live": {"provider": "worldpay"}}, 422, "unknown payment provider"),
        ({"email_collection_mode": "SOMETIMES"}, 400, "email_collection_mode"),
        ({"accepted_cards": [{"brand": "visa", "type": "charge"}]}, 400, "accepted_cards"),
        ({"corporate_surcharges": {"credit": -1}}, 400, "corporate_surcharges"),
        ({"no_such_setting": True}, 400, "no_such_setting"),
    ],
)
def test_settings_pay_cannot_honour_are_refused_in_the_platform_envelope(
    pay_rig: PayRig, settings: dict[str, object], status: int, message: str
) -> None:
    service_id = uuid.uuid4()
    with internal(pay_rig, service_id) as client:
        response = client.put(f"/internal/services/{service_id}", json=document(1, **settings))
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "request_id"}
    assert message in body["message"]
    assert accounts_of(pay_rig, service_id) == {}


def test_the_gateway_records_a_refused_push_for_the_console(pay_rig: PayRig) -> None:
    tenant = pay_rig.tenant()
    outcome = change_pay_settings(pay_rig, tenant, {"live": {"provider": "worldpay"}})
    assert outcome == {"rejected": 1}
    assert accounts_of(pay_rig, tenant.service_id)["live"].provider is None


def test_a_live_account_needs_a_real_provider_unless_allowed(pay_rig: PayRig) -> None:
    service_id = uuid.uuid4()
    pay_rig.settings.allow_sandbox_live = False
    try:
        with internal(pay_rig, service_id) as client:
            refused = client.put(f"/internal/services/{service_id}", json=document(1, live={"provider": "sandbox"}))
    finally:
        pay_rig.settings.allow_sandbox_live = True
    assert refused.status_code == 422
    assert "real payment provider" in refused.json()["message"]


def test_only_the_gateway_may_call_the_internal_api(pay_rig: PayRig) -> None:
    service_id = uuid.uuid4()
    with internal(pay_rig, service_id, scopes=frozenset()) as client:
        not_internal = client.put(f"/internal/services/{service_id}", json=document(1))
    with internal(pay_rig, service_id) as client:
        other_service = client.put(f"/internal/services/{uuid.uuid4()}", json=document(1))
    with httpx.Client(base_url=pay_rig.pay_url) as client:
        anonymous = client.put(f"/internal/services/{service_id}", json=document(1))
    assert not_internal.status_code == 403 and not_internal.json()["error"] == "NotInternal"
    assert other_service.status_code == 403 and other_service.json()["error"] == "WrongService"
    assert anonymous.status_code == 401


def test_the_gateway_never_routes_the_internal_api(pay_rig: PayRig) -> None:
    response = pay_rig.gateway(pay_rig.main.keys["test"]).put(
        f"/internal/services/{pay_rig.main.service_id}", json=document(1)
    )
    assert response.status_code == 404


def test_the_key_type_selects_the_account(pay_rig: PayRig) -> None:
    test_key, live_key = pay_rig.main.keys["test"], pay_rig.main.keys["live"]
    created = new_payment(pay_rig.gateway(test_key))
    payment_id = created["payment_id"]
    assert pay_rig.gateway(test_key).get(f"/v1/payments/{payment_id}").status_code == 200
    in_live = pay_rig.gateway(live_key).get(f"/v1/payments/{payment_id}")
    assert in_live.status_code == 404
    assert in_live.json() == {"code": "P0200", "description": "Not found"}
    other = pay_rig.tenant()
    assert pay_rig.gateway(other.keys["test"]).get(f"/v1/payments/{payment_id}").status_code == 404
    listed = pay_rig.gateway(live_key).get("/v1/payments", params={"reference": created["reference"]}).json()
    assert payment_id not in {p["payment_id"] for p in listed["results"]}


def test_accounts_are_isolated_for_every_payment_endpoint(pay_rig: PayRig, api: httpx.Client) -> None:
    payment_id = new_payment(api)["payment_id"]
    other = pay_rig.api(pay_rig.main.account("live"))
    assert other.get(f"/v1/payments/{payment_id}").json()["code"] == "P0200"
    assert other.get(f"/v1/payments/{payment_id}/events").json()["code"] == "P0300"
    assert other.post(f"/v1/payments/{payment_id}/cancel").json()["code"] == "P0500"
    assert other.post(f"/v1/payments/{payment_id}/capture").json()["code"] == "P1000"
    assert other.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 1}).json()["code"] == "P0600"
    assert other.get(f"/v1/payments/{payment_id}/refunds").json()["code"] == "P0800"
    assert api.get(f"/v1/payments/{payment_id}").status_code == 200


def test_a_service_pay_has_not_heard_of_yet(pay_rig: PayRig) -> None:
    """Until the push arrives, creating is P0199 and reads find nothing."""
    unknown = pay_rig.api(Account(uuid.uuid4(), "test"))
    created = unknown.post(
        "/v1/payments", json={"amount": 100, "reference": "r", "description": "d", "return_url": RETURN_URL}
    )
    assert created.status_code == 500
    assert created.json() == {
        "code": "P0199",
        "description": "There is an error with this account. Please contact support",
    }
    assert unknown.get("/v1/payments").json()["total"] == 0
