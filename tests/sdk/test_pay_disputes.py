"""`search_disputes` of `PayClient` and `AsyncPayClient` against the real gateway and pay: lazy paging over the
`links` envelope GOV.UK Pay gives disputes, and the filters."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from gaap_client import AsyncPayClient, PayClient

from gaap.db.base import utcnow
from services.pay.disputes import service as disputes
from services.pay.payments import tasks as payment_tasks
from services.pay.worker import worker_spec
from tests.pay.conftest import PayRig, authorise, moto_payment
from tests.sdk.conftest import ON_POSTGRES

pytestmark = ON_POSTGRES
CARDS = {"lost": "4000000000000259", "won": "4000000000002685"}


async def disputed(rig: PayRig, api: Any) -> dict[str, list[str]]:
    """Two lost disputes and a won one, raised with their captures and played out by the worker's handlers on a
    test clock (open, under review, decided)."""
    spec = worker_spec(rig.settings)
    ctx: dict[str, Any] = {}
    assert spec.on_startup is not None and spec.on_shutdown is not None
    await spec.on_startup(ctx)
    made: dict[str, list[str]] = {"lost": [], "won": []}
    try:
        for outcome in ("lost", "won", "lost"):
            payment = await asyncio.to_thread(moto_payment, api, amount=1000)
            assert (await asyncio.to_thread(authorise, rig, payment, CARDS[outcome])).status_code == 204
            await payment_tasks.capture_payment(ctx, payment["payment_id"])
            made[outcome].append(payment["payment_id"])
        now = utcnow()
        for step in range(1, 4):
            await disputes.progress(ctx["db"], rig.settings, now=now + timedelta(seconds=61 * step))
    finally:
        await spec.on_shutdown(ctx)
    return made


async def test_search_disputes_pages_lazily_both_ways(pay_rig: PayRig) -> None:
    tenant = await asyncio.to_thread(pay_rig.tenant, {"allow_moto_api": True})
    made = await disputed(pay_rig, pay_rig.api(tenant.account("test")))

    sync, aio = (
        PayClient(pay_rig.gateway_url, tenant.keys["test"]),
        AsyncPayClient(pay_rig.gateway_url, tenant.keys["test"]),
    )
    try:
        everything = list(sync.search_disputes(display_size=2))  # two pages
        assert sorted(d["payment_id"] for d in everything) == sorted(made["lost"] + made["won"])
        assert [d["payment_id"] async for d in aio.search_disputes(display_size=1)] == [
            d["payment_id"] for d in everything
        ]
        lost = [d async for d in aio.search_disputes(status="lost", display_size=1)]
        assert sorted(d["payment_id"] for d in lost) == sorted(made["lost"])
        assert all(d["net_amount"] < 0 and d["settlement_summary"]["settled_date"] for d in lost)
        day = lost[0]["settlement_summary"]["settled_date"]
        assert [d["status"] for d in sync.search_disputes(from_settled_date=day, to_settled_date=day)] == ["lost"] * 2
        assert list(sync.search_disputes(status="needs_response")) == []
    finally:
        sync.close()
        await aio.aclose()
