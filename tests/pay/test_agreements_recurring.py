"""A payer saves their card to an agreement on the payment pages, then the worker takes recurring payments from it
(pay spec §8, §13.5): success, a decline the service may retry, a final decline that makes the agreement
`inactive`, a cancelled agreement, the stored card deleted at the provider, and the webhooks of each payment."""

# ruff: noqa: F811  (`browser_factory` is the page tests' fixture, imported below)
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import sweep_once
from services.pay.agreements import tasks
from services.pay.agreements.models import DELETE_READY, DELETED, IN_USE, PaymentInstrument
from services.pay.payments.tasks import capture_payment
from services.pay.provider.sandbox import SandboxProvider
from services.pay.webhooks import outbox
from tests.pay.conftest import RETURN_URL, PayRig
from tests.pay.pages.conftest import browser_factory  # noqa: F401  (fixture)
from tests.pay.pages.payer import THREE_DS_CARD, BrowserFactory, card_form, path_of
from tests.pay.test_agreements import new_agreement
from tests.pay.webhooks.conftest import messages_of, tenant_with, webhook_settings

RETRYABLE_CARD = "5105105105105100"  # a stored copy declines with can_retry: true (§13.5)
FINAL_CARD = "4000002760003184"  # 3-D Secure at set-up; a stored copy declines with can_retry: false


class RecordingSandbox(SandboxProvider):
    """The sandbox, remembering which stored cards it was asked to delete."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    async def delete_instrument(self, *, instrument_id: str, token: str) -> None:
        self.deleted.append(token)


@pytest.fixture
def sandbox(worker_ctx: dict[str, Any]) -> RecordingSandbox:
    recording = RecordingSandbox()
    worker_ctx["providers"] = {**worker_ctx["providers"], "sandbox": recording}
    return recording


def set_up(
    api: httpx.Client, browser_factory: BrowserFactory, number: str, agreement: dict[str, Any]
) -> dict[str, Any]:
    """The payer pays a set-up payment on the pages with `number` (passing 3-D Secure when asked); returns the
    agreement as the service then sees it."""
    payment = api.post(
        "/v1/payments",
        json={
            "amount": 500,
            "reference": "SETUP-1",
            "description": "First council tax payment",
            "return_url": RETURN_URL,
            "set_up_agreement": agreement["agreement_id"],
        },
    ).json()
    payer = browser_factory()
    page = payer.open(payment)
    assert page.status_code == 200
    assert "Your card details will be kept for future payments for:" in page.text
    assert agreement["description"] in page.text
    pid = payment["payment_id"]
    sent = payer.post(f"/card_details/{pid}", card_form(number))
    if path_of(sent).endswith("/3ds_required"):
        sent = payer.post(f"/card_details/{pid}/3ds_handler", {"outcome": "authenticate"})
    assert path_of(sent) == f"/card_details/{pid}/confirm"
    # Authorised but not confirmed: the agreement has not changed yet.
    assert api.get(f"/v1/agreements/{agreement['agreement_id']}").json()["status"] == agreement["status"]
    assert payer.post(f"/card_details/{pid}/confirm").headers["location"] == f"/return/{pid}"
    assert api.get(f"/v1/payments/{pid}").json()["state"]["status"] == "success"
    found: dict[str, Any] = api.get(f"/v1/agreements/{agreement['agreement_id']}").json()
    return found


def recurring_payment(api: httpx.Client, agreement: dict[str, Any], amount: int = 1500) -> dict[str, Any]:
    response = api.post(
        "/v1/payments",
        json={
            "amount": amount,
            "reference": "CT-MONTH-2",
            "description": "Council tax, month 2",
            "authorisation_mode": "agreement",
            "agreement_id": agreement["agreement_id"],
            "agreement_payment_type": "recurring",
        },
        headers={"Idempotency-Key": f"recurring-{agreement['agreement_id']}-{amount}"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def instruments_of(db: Database, agreement_id: str) -> list[PaymentInstrument]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(PaymentInstrument)
            .where(PaymentInstrument.agreement_id == agreement_id)
            .order_by(PaymentInstrument.created_at)
        )
        found = list(rows.scalars().all())
        session.expunge_all()
        return found


async def test_set_up_then_a_recurring_payment_succeeds_with_its_webhooks(
    pay_rig: PayRig, browser_factory: BrowserFactory, worker_ctx: dict[str, Any], pay_db: Database
) -> None:
    tenant = await tenant_with(pay_rig, [webhook_settings("http://127.0.0.1:9/pay-events")])
    api = pay_rig.api(tenant.account())
    agreement = set_up(api, browser_factory, "4444333322221111", new_agreement(api))
    assert agreement["status"] == "active"
    instrument = agreement["payment_instrument"]
    assert instrument["type"] == "card"
    assert instrument["card_details"] == {
        "last_digits_card_number": "1111",
        "first_digits_card_number": "444433",
        "cardholder_name": "Ada Lovelace",
        "expiry_date": "12/39",
        "billing_address": {
            "line1": "1 Example Street",
            "postcode": "CF10 1AA",
            "city": "Cardiff",
            "country": "GB",
        },
        "card_brand": "Visa",
        "card_type": "credit",
        "wallet_type": None,
    }

    created = recurring_payment(api, agreement)
    assert created["state"] == {"status": "created", "finished": False}
    assert (created["authorisation_mode"], created["agreement_id"], created["agreement_payment_type"]) == (
        "agreement",
        agreement["agreement_id"],
        "recurring",
    )
    assert "return_url" not in created
    assert set(created["_links"]) == {"self", "events", "refunds"}  # no next_url, no cancel
    cancel = api.post(f"/v1/payments/{created['payment_id']}/cancel")
    assert (cancel.status_code, cancel.json()["code"]) == (400, "P0501")

    await tasks.authorise_recurring(worker_ctx, created["payment_id"])
    await tasks.authorise_recurring(worker_ctx, created["payment_id"])  # a duplicate job changes nothing
    await capture_payment(worker_ctx, created["payment_id"])
    paid = api.get(f"/v1/payments/{created['payment_id']}").json()
    assert paid["state"] == {"status": "success", "finished": True}
    assert paid["card_details"]["last_digits_card_number"] == "1111"
    assert paid["settlement_summary"]["captured_date"]
    assert [e["state"]["status"] for e in api.get(f"/v1/payments/{created['payment_id']}/events").json()["events"]] == [
        "created",
        "started",
        "success",
    ]
    search = api.get("/v1/payments", params={"agreement_id": agreement["agreement_id"]}).json()
    assert {p["payment_id"] for p in search["results"]} >= {created["payment_id"]}

    sent = [(m.event_type, orjson.loads(m.body)["resource"]) for m in await messages_of(pay_db, created["payment_id"])]
    assert [event for event, _resource in sent] == [outbox.STARTED, outbox.SUCCEEDED, outbox.CAPTURED]
    assert all(resource["agreement_id"] == agreement["agreement_id"] for _event, resource in sent)


async def test_declines_with_and_without_retry(
    pay_rig: PayRig,
    browser_factory: BrowserFactory,
    worker_ctx: dict[str, Any],
    pay_db: Database,
    sandbox: RecordingSandbox,
) -> None:
    tenant = await tenant_with(pay_rig, [webhook_settings("http://127.0.0.1:9/pay-events")])
    api = pay_rig.api(tenant.account())

    retryable = set_up(api, browser_factory, RETRYABLE_CARD, new_agreement(api))
    declined = recurring_payment(api, retryable)
    await tasks.authorise_recurring(worker_ctx, declined["payment_id"])
    failed = api.get(f"/v1/payments/{declined['payment_id']}").json()
    assert failed["state"] == {
        "status": "failed",
        "finished": True,
        "code": "P0010",
        "message": "Payment method rejected",
        "can_retry": True,
    }
    assert api.get(f"/v1/agreements/{retryable['agreement_id']}").json()["status"] == "active"
    webhook = [m for m in await messages_of(pay_db, declined["payment_id"]) if m.event_type == outbox.FAILED]
    assert orjson.loads(webhook[0].body)["resource"]["state"]["can_retry"] is True

    final = set_up(api, browser_factory, FINAL_CARD, new_agreement(api))
    refused = recurring_payment(api, final)
    await tasks.authorise_recurring(worker_ctx, refused["payment_id"])
    assert api.get(f"/v1/payments/{refused['payment_id']}").json()["state"]["can_retry"] is False
    inactive = api.get(f"/v1/agreements/{final['agreement_id']}").json()
    assert inactive["status"] == "inactive" and "payment_instrument" in inactive
    [card] = await instruments_of(pay_db, final["agreement_id"])
    assert card.status == DELETE_READY
    await tasks.delete_instrument(worker_ctx, card.id)
    assert sandbox.deleted == [card.token]

    # No more payments on an inactive agreement; a new set-up payment reactivates it with the new card.
    again = api.post(
        "/v1/payments",
        json={
            "amount": 100,
            "reference": "r",
            "description": "d",
            "authorisation_mode": "agreement",
            "agreement_id": final["agreement_id"],
        },
    )
    assert again.json()["field"] == "agreement_id"
    renewed = set_up(api, browser_factory, "4242424242424242", inactive)
    assert renewed["status"] == "active"
    assert renewed["payment_instrument"]["card_details"]["last_digits_card_number"] == "4242"


async def test_cancel_and_replace_delete_the_stored_card(
    pay_rig: PayRig,
    browser_factory: BrowserFactory,
    worker_ctx: dict[str, Any],
    pay_db: Database,
    sandbox: RecordingSandbox,
) -> None:
    api = pay_rig.api((await asyncio.to_thread(pay_rig.tenant)).account())
    agreement = set_up(api, browser_factory, THREE_DS_CARD, new_agreement(api))
    # A new set-up payment on an active agreement replaces its card; the old one is deleted at the provider.
    replaced = set_up(api, browser_factory, "4000056655665556", agreement)
    assert replaced["payment_instrument"]["card_details"]["card_type"] == "debit"
    old, new = await instruments_of(pay_db, agreement["agreement_id"])
    assert (old.status, new.status) == (DELETE_READY, IN_USE)

    cancelled = api.post(f"/v1/agreements/{agreement['agreement_id']}/cancel", headers={"Idempotency-Key": "cancel-1"})
    assert cancelled.status_code == 204
    replay = api.post(f"/v1/agreements/{agreement['agreement_id']}/cancel", headers={"Idempotency-Key": "cancel-1"})
    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (204, "true")
    assert api.post(f"/v1/agreements/{agreement['agreement_id']}/cancel").json()["code"] == "P2501"
    shown = api.get(f"/v1/agreements/{agreement['agreement_id']}").json()
    assert shown["status"] == "cancelled" and shown["cancelled_date"] >= shown["created_date"]

    for card in (old, new):
        await tasks.delete_instrument(worker_ctx, card.id)
    assert sorted(sandbox.deleted) == sorted([old.token, new.token])
    assert [c.status for c in await instruments_of(pay_db, agreement["agreement_id"])] == [DELETED, DELETED]

    # A recurring payment created before the cancel, picked up after it, is declined without a provider call.
    assert api.get("/v1/agreements", params={"status": "cancelled"}).json()["total"] == 1


async def test_lost_jobs_are_found_again(
    pay_rig: PayRig,
    browser_factory: BrowserFactory,
    worker_ctx: dict[str, Any],
    pay_db: Database,
    sandbox: RecordingSandbox,
) -> None:
    """A recurring payment whose job was lost is queued again by `recurring-payments`; the card of a set-up payment
    that failed 3-D Secure is deleted through the `delete-instrument` sweep."""
    api = pay_rig.api((await asyncio.to_thread(pay_rig.tenant)).account())
    agreement = set_up(api, browser_factory, "4444333322221111", new_agreement(api))
    payment = recurring_payment(api, agreement)
    later = utcnow() + pay_rig.settings.overdue_grace + timedelta(seconds=1)
    assert await tasks.requeue_recurring(worker_ctx) == 0  # not overdue yet
    assert await tasks.requeue_recurring(worker_ctx, now=later) >= 1
    await tasks.authorise_recurring(worker_ctx, payment["payment_id"])  # what the re-queued job does
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "success"

    failed_setup = api.post(
        "/v1/payments",
        json={
            "amount": 500,
            "reference": "SETUP-2",
            "description": "Set-up",
            "return_url": RETURN_URL,
            "set_up_agreement": agreement["agreement_id"],
        },
    ).json()
    payer = browser_factory()
    payer.open(failed_setup)
    payer.post(f"/card_details/{failed_setup['payment_id']}", card_form(THREE_DS_CARD))
    payer.post(f"/card_details/{failed_setup['payment_id']}/3ds_handler", {"outcome": "fail"})
    assert api.get(f"/v1/payments/{failed_setup['payment_id']}").json()["state"]["code"] == "P0010"
    in_use, discarded = await instruments_of(pay_db, agreement["agreement_id"])
    assert (in_use.status, discarded.status) == (IN_USE, DELETE_READY)
    assert (
        api.get(f"/v1/agreements/{agreement['agreement_id']}").json()["payment_instrument"]["card_details"][
            "last_digits_card_number"
        ]
        == "1111"
    )  # the failed set-up changed nothing

    deletions = next(s for s in tasks.sweeps(pay_rig.settings.overdue_grace, pay_rig.settings.sweep_every))
    # Overdue from now: the card was discarded after `later` was taken when the set-up took long (a loaded machine).
    later = utcnow() + pay_rig.settings.overdue_grace + timedelta(seconds=1)
    assert await sweep_once(pay_db, worker_ctx["jobs"], deletions, now=later) >= 1
    await tasks.delete_instrument(worker_ctx, discarded.id)
    assert sandbox.deleted == [discarded.token]
