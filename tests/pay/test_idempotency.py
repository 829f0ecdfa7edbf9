"""`Idempotency-Key` on every POST (pay spec §4.5): recorded with the effect, replayed for the same body, 409 P0191
for another body or a concurrent duplicate, validation never recorded, scoped to account, method and path."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.idempotency.models import IN_PROGRESS, IdempotencyKey
from services.pay.idempotency.service import fingerprint, settle_stale
from services.pay.payments.models import Payment
from tests.pay.conftest import RETURN_URL, PayRig, authorise, moto_payment, new_payment

BODY = {"amount": 1200, "reference": "IDEM-1", "description": "Council tax", "return_url": RETURN_URL}
CREATE_CONFLICT = {
    "code": "P0191",
    "description": "The `Idempotency-Key` you sent in the request header has already been used to create a payment.",
    "header": "Idempotency-Key",
}


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4()}"}


async def count_payments(db: Database, reference: str) -> int:
    async with db.read_session() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(Payment).where(Payment.reference == reference))
            ).scalar_one()
        )


def test_a_repeated_create_replays_the_payment_with_200(pay_rig: PayRig, api: httpx.Client) -> None:
    headers = key()
    first = api.post("/v1/payments", json=BODY, headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = api.post("/v1/payments", json=BODY, headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Cache-Control"] == "no-store"
    one, two = first.json(), again.json()
    assert one["payment_id"] == two["payment_id"]
    assert one["_links"]["next_url"] != two["_links"]["next_url"]  # a fresh one-time token
    assert {k: v for k, v in one.items() if k != "_links"} == {k: v for k, v in two.items() if k != "_links"}


def test_the_replay_shows_the_payment_as_it_is_now(api: httpx.Client) -> None:
    headers = key()
    created = api.post("/v1/payments", json=BODY, headers=headers).json()
    assert api.post(f"/v1/payments/{created['payment_id']}/cancel").status_code == 204
    replay = api.post("/v1/payments", json=BODY, headers=headers).json()
    assert replay["state"]["status"] == "cancelled"
    assert "next_url" not in replay["_links"]


def test_the_same_body_in_another_form_is_the_same_request(api: httpx.Client) -> None:
    headers = key()
    assert api.post("/v1/payments", json=BODY, headers=headers).status_code == 201
    reordered = (
        b'{ "return_url":"%s", "description":"Council tax","reference":"IDEM-1","amount":1200 }' % RETURN_URL.encode()
    )
    again = api.post("/v1/payments", content=reordered, headers={**headers, "Content-Type": "application/json"})
    assert again.status_code == 200


def test_another_body_with_the_key_is_409(api: httpx.Client) -> None:
    headers = key()
    assert api.post("/v1/payments", json=BODY, headers=headers).status_code == 201
    other = api.post("/v1/payments", json={**BODY, "amount": 1}, headers=headers)
    assert (other.status_code, other.json()) == (409, CREATE_CONFLICT)


def test_validation_failures_are_not_recorded(api: httpx.Client) -> None:
    headers = key()
    refused = api.post("/v1/payments", json={**BODY, "amount": 0}, headers=headers)
    assert refused.status_code == 422
    assert api.post("/v1/payments", json=BODY, headers=headers).status_code == 201


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("x" * 256, "Must be less than or equal to 255 characters length"),
        ("has space", "Must contain only letters, digits and hyphens"),
    ],
)
def test_a_malformed_key_is_422(api: httpx.Client, value: str, reason: str) -> None:
    response = api.post("/v1/payments", json=BODY, headers={"Idempotency-Key": value})
    assert (response.status_code, response.json()) == (
        422,
        {
            "code": "P0102",
            "description": f"Invalid attribute value: Idempotency-Key. {reason}",
            "header": "Idempotency-Key",
        },
    )


def test_an_empty_key_is_no_key(api: httpx.Client) -> None:
    for _ in range(2):
        assert api.post("/v1/payments", json=BODY, headers={"Idempotency-Key": ""}).status_code == 201


async def test_concurrent_duplicates_create_one_payment(pay_rig: PayRig, pay_db: Database) -> None:
    reference = f"CONC-{utcnow().timestamp()}"
    body = {**BODY, "reference": reference}
    headers = key()
    async with pay_rig.async_api(pay_rig.main.account()) as client:
        answers = await asyncio.gather(*(client.post("/v1/payments", json=body, headers=headers) for _ in range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    assert {a.json()["payment_id"] for a in answers if a.status_code in (200, 201)} == {
        next(a.json()["payment_id"] for a in answers if a.status_code == 201)
    }
    assert all(a.json() == CREATE_CONFLICT for a in answers if a.status_code == 409)
    assert await count_payments(pay_db, reference) == 1


def test_keys_are_scoped_to_the_account_and_the_path(pay_rig: PayRig, api: httpx.Client) -> None:
    headers = key()
    first = api.post("/v1/payments", json=BODY, headers=headers)
    other_account = pay_rig.api(pay_rig.main.account("live")).post("/v1/payments", json=BODY, headers=headers)
    assert first.status_code == other_account.status_code == 201
    a, b = new_payment(api), new_payment(api)
    assert api.post(f"/v1/payments/{a['payment_id']}/cancel", headers=headers).status_code == 204
    assert api.post(f"/v1/payments/{b['payment_id']}/cancel", headers=headers).status_code == 204


def test_cancel_replays_its_204(api: httpx.Client) -> None:
    payment = new_payment(api)
    headers = key()
    path = f"/v1/payments/{payment['payment_id']}/cancel"
    assert api.post(path, headers=headers).status_code == 204
    replay = api.post(path, headers=headers)
    assert replay.status_code == 204 and replay.headers["Idempotent-Replayed"] == "true" and replay.content == b""
    assert api.post(path).status_code == 400  # without the key, it is a new request


def test_an_outcome_after_validation_is_recorded_even_an_error(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = new_payment(api)
    headers = key()
    path = f"/v1/payments/{payment['payment_id']}/refunds"
    refused = api.post(path, json={"amount": 100}, headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == "P0603"
    replay = api.post(path, json={"amount": 100}, headers=headers)
    assert (replay.status_code, replay.json()) == (400, refused.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    conflict = api.post(path, json={"amount": 5}, headers=headers)
    assert conflict.json() == {
        "code": "P0191",
        "description": "The `Idempotency-Key` you sent in the request header has already been used to create a refund.",
        "header": "Idempotency-Key",
    }


def test_a_refund_replays_its_202_body_and_refunds_once(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api, amount=900)
    assert authorise(pay_rig, payment).status_code == 204
    headers = key()
    path = f"/v1/payments/{payment['payment_id']}/refunds"
    first = api.post(path, json={"amount": 400}, headers=headers)
    replay = api.post(path, json={"amount": 400}, headers=headers)
    assert first.status_code == replay.status_code == 202
    assert replay.json() == first.json()
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["refund_summary"]["amount_submitted"] == 400


def test_capture_and_auth_replay(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api, delayed_capture=True)
    token = payment["_links"]["auth_url_post"]["params"]["one_time_token"]
    card = {
        "one_time_token": token,
        "card_number": "4242424242424242",
        "cvc": "123",
        "expiry_date": "10/40",
        "cardholder_name": "A",
    }
    headers = key()
    anonymous = pay_rig.anonymous()
    assert anonymous.post("/v1/auth", json=card, headers=headers).status_code == 204
    replay = anonymous.post("/v1/auth", json=card, headers=headers)
    assert replay.status_code == 204 and replay.headers["Idempotent-Replayed"] == "true"
    assert anonymous.post("/v1/auth", json=card).json()["code"] == "P1212"
    capture = f"/v1/payments/{payment['payment_id']}/capture"
    assert api.post(capture, headers=headers).status_code == 204  # same key, another path: another request
    assert api.post(capture, headers=headers).headers["Idempotent-Replayed"] == "true"


async def test_no_card_data_in_the_auth_fingerprint(pay_rig: PayRig, api: httpx.Client, pay_db: Database) -> None:
    """The card number enters the fingerprint only as a keyed hash, and the CVC not at all (§13.6)."""
    payment = moto_payment(api)
    headers = key()
    body = {
        "one_time_token": payment["_links"]["auth_url_post"]["params"]["one_time_token"],
        "card_number": "4000056655665556",
        "cvc": "987",
        "expiry_date": "12/39",
        "cardholder_name": "A",
    }
    assert pay_rig.anonymous().post("/v1/auth", json=body, headers=headers).status_code == 204
    async with pay_db.read_session() as session:
        row = (
            await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == headers["Idempotency-Key"]))
        ).scalar_one()
        assert row.fingerprint != fingerprint(body)
        assert row.fingerprint != fingerprint({k: v for k, v in body.items() if k != "cvc"})
        assert row.response_body is None and row.status_code == 204


async def test_an_expired_key_is_new_again(pay_rig: PayRig, api: httpx.Client, pay_db: Database) -> None:
    headers = key()
    assert api.post("/v1/payments", json=BODY, headers=headers).status_code == 201
    async with pay_db.write_session() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == headers["Idempotency-Key"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert api.post("/v1/payments", json={**BODY, "amount": 5}, headers=headers).status_code == 201


async def test_the_worker_settles_stale_and_expired_keys(pay_rig: PayRig, api: httpx.Client, pay_db: Database) -> None:
    now = utcnow()

    def in_progress(label: str, created: timedelta) -> IdempotencyKey:
        return IdempotencyKey(
            id=uuid.uuid4(),
            service_id=pay_rig.main.service_id,
            mode="test",
            method="POST",
            path="/v1/payments",
            key=f"{label}-{uuid.uuid4()}",
            fingerprint="0" * 64,
            state=IN_PROGRESS,
            created_at=now - created,
            expires_at=now + timedelta(hours=1),
        )

    stale, fresh = in_progress("stale", timedelta(minutes=6)), in_progress("fresh", timedelta())
    async with pay_db.write_session() as session:
        session.add_all([stale, fresh])
    async with pay_db.write_session() as session:
        assert await settle_stale(session) >= 1
    async with pay_db.read_session() as session:
        assert await session.get(IdempotencyKey, stale.id) is None
        assert await session.get(IdempotencyKey, fresh.id) is not None
    conflict: dict[str, Any] = api.post(
        "/v1/payments", json=BODY, headers={"Idempotency-Key": fresh.key}
    ).json()  # its first request is still running
    assert conflict == CREATE_CONFLICT
