"""No full card number or CVC in any store or log (pay spec §13.6): after MOTO and payment-page journeys with every
kind of outcome (3-D Secure both ways, a form sent back with errors, the brand check), every table of pay's database,
everything the processes wrote and every value in the Redis database the queue uses are scanned for the numbers used
(with and without separators) and for any CVC column or key."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import inspect, select

from gaap.db.engine import Database
from services.pay.models import Base
from tests.pay.conftest import PayRig, authorise, moto_payment, new_payment
from tests.pay.pages.payer import PayerBrowser, card_form

CARDS = {
    "4444333322221111": "204",
    "4000000000000002": "402",
    "4000000000000119": "500",
    "4444333322221112": "402",  # fails Luhn
    "6759649826438453": "402",  # a brand the account does not take
}
#: Cards the payment pages take (the outcome is the page the card form leads to), each typed with spaces.
PAGE_CARDS = {
    "5555555555554444": "confirm",
    "4000000000000002": "card_details",
    "4000000000000119": "card_details",
    "4000002500003155": "3ds_required",
    "4000002760003184": "3ds_required",
}
#: A number the form sends back with an error (it fails Luhn): it is shown again in the page, never stored.
PAGE_REFUSED = "4917610000000000004"
CVC = "739"


def forms(number: str) -> list[str]:
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return [number, grouped, grouped.replace(" ", "-")]


async def test_no_card_number_or_cvc_is_kept_or_logged(
    pay_rig: PayRig, api: httpx.Client, pay_db: Database, capfd: pytest.CaptureFixture[str]
) -> None:
    for number, status in CARDS.items():
        payment = moto_payment(api)
        response = authorise(pay_rig, payment, " ".join(number[i : i + 4] for i in range(0, 16, 4)), cvc=CVC)
        assert str(response.status_code) == status, (number, response.text)
        api.get(f"/v1/payments/{payment['payment_id']}")
    with httpx.Client(base_url=pay_rig.pay_url, timeout=30) as client:
        pay_on_the_pages(api, PayerBrowser(client))
    captured = capfd.readouterr()
    logs = captured.out + captured.err

    dump: list[str] = []
    async with pay_db.read_session() as session:
        for table in Base.metadata.sorted_tables:
            assert not any("cvc" in column.name.lower() or "cvv" in column.name.lower() for column in table.columns)
            for row in (await session.execute(select(table))).all():
                dump.append(json.dumps([str(value) for value in row], default=str))
        names = await session.run_sync(lambda s: inspect(s.get_bind()).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= set(names)
    stored = "\n".join(dump)
    queued = await redis_values(pay_rig.redis_url)
    assert b"capture_payment" in queued  # the scan sees the queue's jobs
    for number in [*CARDS, *PAGE_CARDS, PAGE_REFUSED]:
        for form in forms(number):
            assert form not in stored, f"{form} is stored"
            assert form not in logs, f"{form} was logged"
            assert form.encode() not in queued, f"{form} is in Redis"
    assert '"cvc"' not in stored.lower() and f'"{CVC}"' not in stored
    # As a key or a value, not as letters: random payment ids in the queue's keys may spell "cvc".
    assert b'"cvc"' not in queued.lower() and f'"{CVC}"'.encode() not in queued


def pay_on_the_pages(api: httpx.Client, payer: PayerBrowser) -> None:
    """Every page journey that carries a card number: each outcome, 3-D Secure passed and failed, a refused form
    and the JSON brand check; each a set-up payment, so the cards are also saved to agreements (§8, §13.6)."""
    for index, (number, page) in enumerate(PAGE_CARDS.items()):
        agreement = api.post("/v1/agreements", json={"reference": "scan", "description": "Card data scan"}).json()
        payment = new_payment(api, set_up_agreement=agreement["agreement_id"])
        payer.open(payment)
        typed = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        if index == 0:
            payer.post(f"/check_card/{payment['payment_id']}", {"cardNo": typed})
            refused = payer.post(f"/card_details/{payment['payment_id']}", card_form(PAGE_REFUSED, cvc=CVC))
            assert refused.status_code == 200 and PAGE_REFUSED in refused.text  # shown again, to this payer only
        response = payer.post(f"/card_details/{payment['payment_id']}", card_form(typed, cvc=CVC))
        assert (
            response.headers["location"].rstrip("/").endswith(page if page != "card_details" else payment["payment_id"])
        )
        if page == "3ds_required":
            outcome = "authenticate" if number.endswith("3155") else "fail"
            payer.post(f"/card_details/{payment['payment_id']}/3ds_handler", {"outcome": outcome})
        if page in ("confirm", "3ds_required"):
            payer.post(f"/card_details/{payment['payment_id']}/confirm")
        api.get(f"/v1/payments/{payment['payment_id']}")


async def redis_values(url: str) -> bytes:
    """Every key and value in the Redis database pay's queue uses, whatever the type."""
    client = Redis.from_url(url)
    found: list[bytes] = []
    try:
        async for key in client.scan_iter(count=500):
            found.append(key)
            kind = (await client.type(key)).decode()
            if kind == "string":
                found.append(await client.get(key) or b"")
            elif kind == "list":
                found.extend(await client.lrange(key, 0, -1))
            elif kind == "set":
                found.extend(await client.smembers(key))
            elif kind == "zset":
                found.extend(await client.zrange(key, 0, -1))
            elif kind == "hash":
                found.extend(b"%s=%s" % pair for pair in (await client.hgetall(key)).items())
            elif kind == "stream":
                found.extend(repr(entry).encode() for entry in await client.xrange(key))
    finally:
        await client.aclose()
    return b"\n".join(found)


def test_kept_card_fields_are_the_allowed_ones(pay_rig: PayRig, api: httpx.Client) -> None:
    payment = moto_payment(api)
    assert authorise(pay_rig, payment, cvc=CVC).status_code == 204
    details: dict[str, Any] = api.get(f"/v1/payments/{payment['payment_id']}").json()["card_details"]
    assert set(details) == {
        "last_digits_card_number",
        "first_digits_card_number",
        "cardholder_name",
        "expiry_date",
        "billing_address",
        "card_brand",
        "card_type",
        "wallet_type",
    }
