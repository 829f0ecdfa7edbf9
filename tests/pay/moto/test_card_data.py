"""No full card number or CVC in any store or log (pay spec §13.6): after MOTO journeys with every kind of outcome,
every table of pay's database and everything the processes wrote are scanned for the numbers used (with and without
separators) and for any CVC column or key."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select

from gaap.db.engine import Database
from services.pay.models import Base
from tests.pay.conftest import PayRig, authorise, moto_payment

CARDS = {
    "4444333322221111": "204",
    "4000000000000002": "402",
    "4000000000000119": "500",
    "4444333322221112": "402",  # fails Luhn
    "6759649826438453": "402",  # a brand the account does not take
}
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
    for number in CARDS:
        for form in forms(number):
            assert form not in stored, f"{form} is stored"
            assert form not in logs, f"{form} was logged"
    assert '"cvc"' not in stored.lower() and f'"{CVC}"' not in stored


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
