"""`PayClient` and `AsyncPayClient`'s agreement methods against the real gateway and pay (pay spec §8): create,
get, lazy search across pages, a set-up payment on the real pages, a recurring payment, cancel."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from gaap_client import APIError, AsyncPayClient, PayClient

from services.pay.agreements import tasks
from tests.pay.conftest import PayRig, worker_ctx  # noqa: F401  (fixture)
from tests.pay.pages.conftest import browser_factory  # noqa: F401  (fixture)
from tests.pay.pages.payer import BrowserFactory
from tests.pay.test_agreements_recurring import set_up
from tests.sdk.conftest import ON_POSTGRES

pytestmark = ON_POSTGRES


async def test_agreements_through_the_sdk(
    pay_rig: PayRig,
    browser_factory: BrowserFactory,  # noqa: F811
    worker_ctx: dict[str, Any],  # noqa: F811
) -> None:
    key = pay_rig.main.keys["test"]
    sync, aio = PayClient(pay_rig.gateway_url, key), AsyncPayClient(pay_rig.gateway_url, key)
    reference = f"SDK-AGR-{uuid.uuid4().hex[:8]}"
    try:
        made = [sync.create_agreement(reference, "Council tax", user_identifier="user-7") for _ in range(2)]
        made.append(await aio.create_agreement(reference, "Council tax"))
        assert made[0]["status"] == "created" and made[0]["user_identifier"] == "user-7"
        assert "user_identifier" not in made[2]
        assert sync.get_agreement(made[0]["agreement_id"]) == made[0]
        assert await aio.get_agreement(made[2]["agreement_id"]) == made[2]
        found = [a["agreement_id"] for a in sync.agreements(reference=reference, display_size=1)]  # three pages
        assert found == [a["agreement_id"] for a in reversed(made)]
        assert len([a async for a in aio.agreements(reference=reference, status="created", display_size=2)]) == 3

        with pytest.raises(APIError) as refused:
            sync.cancel_agreement(made[0]["agreement_id"])
        assert (refused.value.status_code, refused.value.body["code"]) == (400, "P2501")

        active = set_up(pay_rig.api(pay_rig.main.account()), browser_factory, "4444333322221111", made[0])
        assert active["status"] == "active"
        recurring = sync.create_payment(
            900,
            reference,
            "Council tax, month 2",
            authorisation_mode="agreement",
            agreement_id=active["agreement_id"],
            agreement_payment_type="recurring",
        )
        assert "next_url" not in recurring["_links"]
        await tasks.authorise_recurring(worker_ctx, recurring["payment_id"])
        assert (await aio.get_payment(recurring["payment_id"]))["state"]["status"] == "success"

        await aio.cancel_agreement(active["agreement_id"])
        assert sync.get_agreement(active["agreement_id"])["status"] == "cancelled"
        assert [a["agreement_id"] for a in sync.agreements(reference=reference, status="cancelled")] == [
            active["agreement_id"]
        ]
    finally:
        sync.close()
        await aio.aclose()
