"""Disputes (pay spec §10, §13.5): the sandbox's dispute cards open a `fraudulent` dispute once the payment is
captured, the worker's `disputes` job plays it out (driven here with a test clock, never by sleeping), and
`GET /v1/disputes` finds it; an open or lost dispute refuses refunds (§6). Every response is checked against GOV.UK
Pay's OpenAPI document by the rig."""

# ruff: noqa: ASYNC212  (pay and the gateway serve from their own threads: a blocking call holds up nothing they need)

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.disputes import service as disputes
from services.pay.payments import tasks as payment_tasks
from services.pay.provider.sandbox import DISPUTE_FEE, SandboxProvider
from services.pay.settings import PaySettings
from services.pay.worker import worker_spec
from tests.pay.conftest import PayRig, Tenant, authorise, moto_payment
from tests.pay.links.conftest import GatewayPrincipal

LOSES, WINS = "4000000000000259", "4000000000002685"
#: Past each default step (60 s to open, 60 s to review, 60 s to decide), for the test clock.
STEP = timedelta(seconds=61)
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DISPUTED = {"code": "P0603", "description": "The payment is disputed and cannot be refunded"}


async def captured(rig: PayRig, api: httpx.Client, ctx: dict[str, Any], card: str, amount: int = 1500) -> str:
    """A MOTO payment on `card`, authorised and captured by the worker; its ID."""
    payment = moto_payment(api, amount=amount)
    assert authorise(rig, payment, card).status_code == 204
    await payment_tasks.capture_payment(ctx, payment["payment_id"])
    return str(payment["payment_id"])


async def play(rig: PayRig, db: Database, steps: int) -> datetime:
    """Run the `disputes` job `steps` times, each a step later on the test clock; the last clock time."""
    now = utcnow()
    for _ in range(steps):
        now += STEP
        await disputes.progress(db, rig.settings, now=now)
    return now


def dispute_of(api: httpx.Client, payment_id: str, **params: str) -> dict[str, Any] | None:
    response = api.get("/v1/disputes", params=params)
    assert response.status_code == 200, response.text
    found = [d for d in response.json()["results"] if d["payment_id"] == payment_id]
    assert len(found) <= 1
    return found[0] if found else None


def refund(api: httpx.Client, payment_id: str) -> httpx.Response:
    return api.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 100})


def test_the_sandbox_knows_its_dispute_cards_by_the_digits_pay_keeps() -> None:
    sandbox = SandboxProvider()
    lost = sandbox.dispute_after_capture(first_digits="400000", last_digits="0259")
    won = sandbox.dispute_after_capture(first_digits="400000", last_digits="2685")
    assert lost is not None and (lost.reason, lost.outcome, lost.fee) == ("fraudulent", "lost", DISPUTE_FEE)
    assert won is not None and (won.reason, won.outcome) == ("fraudulent", "won")
    assert sandbox.dispute_after_capture(first_digits="444433", last_digits="1111") is None
    assert sandbox.dispute_after_capture(first_digits=None, last_digits=None) is None


def test_the_worker_runs_the_disputes_job_every_10_seconds() -> None:
    job = next(job for job in worker_spec(PaySettings()).cron if job.name == "disputes")
    assert job.every == timedelta(seconds=10)


async def test_a_lost_dispute_from_capture_to_settlement(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any], pay_db: Database
) -> None:
    payment_id = await captured(pay_rig, api, worker_ctx, LOSES, amount=1500)
    events = api.get(f"/v1/payments/{payment_id}/events").json()["events"]
    assert dispute_of(api, payment_id) is None  # raised with the capture, but not open yet

    opened_at = await play(pay_rig, pay_db, 1)
    dispute = dispute_of(api, payment_id)
    assert dispute is not None
    assert dispute == {
        "dispute_id": dispute["dispute_id"],
        "payment_id": payment_id,
        "amount": 1500,
        "created_date": dispute["created_date"],
        "evidence_due_date": dispute["evidence_due_date"],
        "reason": "fraudulent",
        "status": "needs_response",
        "_links": {"payment": {"href": f"{pay_rig.gateway_url}/v1/payments/{payment_id}", "method": "GET"}},
    }
    assert re.fullmatch(r"[0-9a-v]{26}", dispute["dispute_id"])
    created = datetime.strptime(dispute["created_date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    due = datetime.strptime(dispute["evidence_due_date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert DATETIME.match(dispute["evidence_due_date"]) and due - created == timedelta(days=21)
    assert created <= opened_at
    refused = refund(api, payment_id)
    assert (refused.status_code, refused.json()) == (400, DISPUTED)

    await disputes.progress(pay_db, pay_rig.settings, now=opened_at)  # nothing is due again at the same time
    assert dispute_of(api, payment_id, status="needs_response") is not None

    settled = await play(pay_rig, pay_db, 3)  # nothing due yet, under review, lost
    lost = dispute_of(api, payment_id)
    assert lost is not None
    assert lost["status"] == "lost"
    assert (lost["fee"], lost["net_amount"]) == (DISPUTE_FEE, -(1500 + DISPUTE_FEE))
    assert lost["settlement_summary"] == {"settled_date": settled.date().isoformat()}
    assert lost["created_date"] == dispute["created_date"]
    refused = refund(api, payment_id)
    assert (refused.status_code, refused.json()) == (400, DISPUTED)
    # A dispute changes no public status: the payment's events stay as they were (§5.3).
    assert api.get(f"/v1/payments/{payment_id}/events").json()["events"] == events


async def test_a_won_dispute_shows_no_fee_and_allows_refunds_again(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any], pay_db: Database
) -> None:
    payment_id = await captured(pay_rig, api, worker_ctx, WINS)
    await play(pay_rig, pay_db, 2)
    under_review = dispute_of(api, payment_id)
    assert under_review is not None and under_review["status"] == "under_review"
    assert refund(api, payment_id).json() == DISPUTED
    await play(pay_rig, pay_db, 3)
    won = dispute_of(api, payment_id)
    assert won is not None and won["status"] == "won"
    assert not {"fee", "net_amount", "settlement_summary"} & won.keys()
    assert refund(api, payment_id).status_code == 202


async def test_two_workers_move_each_dispute_once(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any], pay_db: Database
) -> None:
    payment_id = await captured(pay_rig, api, worker_ctx, LOSES)
    other = Database(pay_rig.pay_db, pool_size=2)
    try:
        now = utcnow() + STEP
        moved = await asyncio.gather(
            disputes.progress(pay_db, pay_rig.settings, now=now), disputes.progress(other, pay_rig.settings, now=now)
        )
    finally:
        await other.dispose()
    dispute = dispute_of(api, payment_id)
    assert dispute is not None and dispute["status"] == "needs_response"  # not skipped on to `under_review`
    assert sum(moved) >= 1


async def test_other_payments_raise_no_dispute(
    pay_rig: PayRig, api: httpx.Client, worker_ctx: dict[str, Any], pay_db: Database
) -> None:
    payment_id = await captured(pay_rig, api, worker_ctx, "4444333322221111")
    await play(pay_rig, pay_db, 1)
    assert dispute_of(api, payment_id) is None
    assert refund(api, payment_id).status_code == 202


@pytest.fixture(scope="module")
def disputed_tenant(pay_rig: PayRig) -> tuple[Tenant, dict[str, str], datetime]:
    """A service of its own with one lost and one won dispute (and so a known search space); the clock of the
    step that decided them."""
    tenant = pay_rig.tenant({"allow_moto": True, "allow_moto_api": True})

    async def make() -> tuple[dict[str, str], datetime]:
        spec = worker_spec(pay_rig.settings)
        ctx: dict[str, Any] = {"jobs": None}
        assert spec.on_startup is not None and spec.on_shutdown is not None
        await spec.on_startup(ctx)
        try:
            api = pay_rig.api(tenant.account("test"))
            ids = {
                "lost": await captured(pay_rig, api, ctx, LOSES, amount=1000),
                "won": await captured(pay_rig, api, ctx, WINS, amount=2000),
            }
            return ids, await play(pay_rig, ctx["db"], 3)
        finally:
            await spec.on_shutdown(ctx)

    ids, decided = asyncio.run(make())
    return tenant, ids, decided


def search(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get("/v1/disputes", params=params)


def test_search_filters_by_status_and_dates(
    pay_rig: PayRig, disputed_tenant: tuple[Tenant, dict[str, str], datetime]
) -> None:
    tenant, ids, decided = disputed_tenant
    api = pay_rig.api(tenant.account("test"))

    def found(**params: str) -> list[str]:
        response = search(api, **params)
        assert response.status_code == 200, response.text
        return [d["payment_id"] for d in response.json()["results"]]

    assert found() == [ids["won"], ids["lost"]]  # newest first
    assert found(status="lost") == [ids["lost"]]
    assert found(status="won") == [ids["won"]]
    assert found(status="needs_response") == []
    day = decided.date()
    assert found(from_settled_date=day.isoformat(), to_settled_date=day.isoformat()) == [ids["lost"]]
    assert found(from_settled_date=(day + timedelta(days=1)).isoformat()) == []
    assert found(to_settled_date=(day - timedelta(days=1)).isoformat()) == []
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    assert len(found(from_date=(utcnow() - timedelta(hours=1)).strftime(stamp))) == 2
    assert found(to_date=(utcnow() - timedelta(hours=1)).strftime(stamp)) == []
    # Another account (the same service's live one) sees none of them.
    assert search(pay_rig.api(tenant.account("live"))).json()["total"] == 0


def test_paging_links_sit_under_links(
    pay_rig: PayRig, disputed_tenant: tuple[Tenant, dict[str, str], datetime]
) -> None:
    tenant, ids, _ = disputed_tenant
    api = pay_rig.api(tenant.account("test"))
    body = search(api, display_size="1", page="2").json()
    base = f"{pay_rig.gateway_url}/v1/disputes?display_size=1"
    assert "_links" not in body
    assert body["links"] == {
        "self": {"href": f"{base}&page=2", "method": "GET"},
        "first_page": {"href": f"{base}&page=1", "method": "GET"},
        "last_page": {"href": f"{base}&page=2", "method": "GET"},
        "prev_page": {"href": f"{base}&page=1", "method": "GET"},
    }
    assert (body["total"], body["count"], body["page"]) == (2, 1, 2)
    assert [d["payment_id"] for d in body["results"]] == [ids["lost"]]
    beyond = search(api, display_size="1", page="3")
    assert (beyond.status_code, beyond.json()) == (404, {"code": "P0402", "description": "Page not found"})


def test_bad_parameters_are_named_together(
    pay_rig: PayRig, disputed_tenant: tuple[Tenant, dict[str, str], datetime]
) -> None:
    api = pay_rig.api(disputed_tenant[0].account("test"))
    response = search(
        api,
        from_date="2026-01-01",
        to_date="yesterday",
        from_settled_date="2026-13-01",
        to_settled_date="2026-01-01T00:00:00Z",
        status="open",
        page="0",
        display_size="501",
    )
    assert (response.status_code, response.json()) == (
        422,
        {
            "code": "P0401",
            "description": "Invalid parameters: from_date, to_date, from_settled_date, to_settled_date, status, page, "
            "display_size. See Public API documentation for the correct data formats",
        },
    )


def test_through_the_gateway_with_a_pay_key(
    pay_rig: PayRig, disputed_tenant: tuple[Tenant, dict[str, str], datetime]
) -> None:
    tenant, ids, _ = disputed_tenant
    response = pay_rig.gateway(tenant.keys["test"]).get("/v1/disputes", params={"status": "won"})
    assert response.status_code == 200, response.text
    assert [d["payment_id"] for d in response.json()["results"]] == [ids["won"]]


def test_the_consoles_view_of_a_payments_disputes(
    pay_rig: PayRig, disputed_tenant: tuple[Tenant, dict[str, str], datetime]
) -> None:
    tenant, ids, _ = disputed_tenant
    with httpx.Client(base_url=pay_rig.pay_url, auth=GatewayPrincipal(tenant.service_id), timeout=30) as internal:
        base = f"/internal/services/{tenant.service_id}/accounts"
        shown = internal.get(f"{base}/test/payments/{ids['lost']}/disputes")
        assert shown.status_code == 200
        [dispute] = shown.json()["disputes"]
        assert (dispute["payment_id"], dispute["status"], dispute["fee"]) == (ids["lost"], "lost", DISPUTE_FEE)
        assert internal.get(f"{base}/live/payments/{ids['lost']}/disputes").json() == {"disputes": []}
        assert internal.get(f"{base}/test/payments/not-an-id/disputes").json() == {"disputes": []}
    with httpx.Client(base_url=pay_rig.pay_url, auth=GatewayPrincipal(pay_rig.main.service_id), timeout=30) as other:
        refused = other.get(f"/internal/services/{tenant.service_id}/accounts/test/payments/{ids['lost']}/disputes")
        assert refused.status_code == 403
