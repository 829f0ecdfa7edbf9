"""`PayClient` and `AsyncPayClient` against the real gateway and pay: every method, both ways."""

from __future__ import annotations

import uuid

import pytest
from gaap_client import APIError, AsyncPayClient, PayClient

from tests.pay.conftest import PayRig
from tests.sdk.conftest import ON_POSTGRES

RETURN_URL = "https://service.example.gov.uk/done"
CARD = {"card_number": "4444333322221111", "expiry_date": "12/39", "cardholder_name": "Ada Lovelace", "cvc": "123"}

pytestmark = ON_POSTGRES


def clients(rig: PayRig) -> tuple[PayClient, AsyncPayClient]:
    key = rig.main.keys["test"]
    return PayClient(rig.gateway_url, key), AsyncPayClient(rig.gateway_url, key)


async def test_a_web_payment_created_read_searched_and_cancelled(pay_rig: PayRig) -> None:
    sync, aio = clients(pay_rig)
    reference = f"SDK-{uuid.uuid4().hex[:10]}"
    try:
        made = [sync.create_payment(1000 + n, reference, "Bulky waste collection", RETURN_URL) for n in range(3)]
        made += [
            await aio.create_payment(2000 + n, reference, "Bulky waste", RETURN_URL, language="cy") for n in range(2)
        ]
        assert made[0]["state"] == {"status": "created", "finished": False}
        assert made[3]["language"] == "cy"
        assert made[0]["_links"]["next_url"]["href"].startswith(pay_rig.gateway_url)
        fetched = sync.get_payment(made[0]["payment_id"])
        assert fetched["amount"] == 1000
        assert (await aio.get_payment(made[4]["payment_id"]))["amount"] == 2001
        found = [p["payment_id"] for p in sync.payments(reference=reference, display_size=2)]  # three pages
        assert sorted(found) == sorted(p["payment_id"] for p in made)
        assert len([p async for p in aio.payments(reference=reference, display_size=2)]) == 5
        sync.cancel_payment(made[0]["payment_id"])
        await aio.cancel_payment(made[1]["payment_id"])
        assert sync.get_payment(made[0]["payment_id"])["state"]["status"] == "cancelled"
        events = await aio.payment_events(made[1]["payment_id"])
        assert [e["state"]["status"] for e in events] == ["created", "cancelled"]
        assert [e["state"]["status"] for e in sync.payment_events(made[1]["payment_id"])] == ["created", "cancelled"]
    finally:
        sync.close()
        await aio.aclose()


async def test_moto_authorised_captured_and_refunded(pay_rig: PayRig) -> None:
    sync, aio = clients(pay_rig)
    try:
        payments = []
        for client_is_async in (False, True):
            if client_is_async:
                payment = await aio.create_payment(5000, "MOTO-1", "Phone payment", authorisation_mode="moto_api",
                                                   delayed_capture=True)  # fmt: skip
            else:
                payment = sync.create_payment(5000, "MOTO-1", "Phone payment", authorisation_mode="moto_api",
                                              delayed_capture=True)  # fmt: skip
            token = payment["_links"]["auth_url_post"]["params"]["one_time_token"]
            if client_is_async:
                await aio.authorise_moto(token, **CARD)
                await aio.capture_payment(payment["payment_id"])
            else:
                sync.authorise_moto(token, **CARD)
                sync.capture_payment(payment["payment_id"])
            payments.append(payment["payment_id"])
        assert {sync.get_payment(p)["state"]["status"] for p in payments} == {"success"}
        first = sync.create_refund(payments[0], 1500, refund_amount_available=5000)
        second = await aio.create_refund(payments[1], 5000)
        assert (first["amount"], first["status"]) == (1500, "submitted")
        assert sync.get_refund(payments[0], first["refund_id"])["refund_id"] == first["refund_id"]
        assert (await aio.get_refund(payments[1], second["refund_id"]))["amount"] == 5000
        assert [r["refund_id"] for r in sync.payment_refunds(payments[0])] == [first["refund_id"]]
        assert [r["refund_id"] for r in await aio.payment_refunds(payments[1])] == [second["refund_id"]]
        everything = {r["refund_id"] for r in sync.refunds(display_size=500)}
        assert {first["refund_id"], second["refund_id"]} <= everything
        assert {r["refund_id"] async for r in aio.refunds(display_size=500)} == everything
    finally:
        sync.close()
        await aio.aclose()


async def test_pay_errors_are_typed(pay_rig: PayRig) -> None:
    sync, aio = clients(pay_rig)
    try:
        with pytest.raises(APIError) as invalid:
            sync.create_payment(0, "REF", "Nothing", RETURN_URL)
        assert (invalid.value.status_code, invalid.value.code, invalid.value.field) == (422, "P0102", "amount")
        assert invalid.value.retry_safe is False
        with pytest.raises(APIError) as missing:
            await aio.get_payment("0" * 26)
        assert (missing.value.status_code, missing.value.code) == (404, "P0200")
        payment = sync.create_payment(100, "REF", "Too much", authorisation_mode="moto_api")
        sync.authorise_moto(payment["_links"]["auth_url_post"]["params"]["one_time_token"], **CARD)
        with pytest.raises(APIError) as too_much:
            await aio.create_refund(payment["payment_id"], 101)
        assert too_much.value.code == "P0603"
    finally:
        sync.close()
        await aio.aclose()
    unknown = "api_test_" + "0" * 58
    with PayClient(pay_rig.gateway_url, unknown) as stranger, pytest.raises(APIError) as denied:
        stranger.get_payment("0" * 26)
    assert denied.value.status_code == 401
    with pytest.raises(ValueError, match="not a Pay API key"):
        PayClient(pay_rig.gateway_url, "nonsense")
