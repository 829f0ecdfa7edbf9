"""Webhook configuration (pay spec §3, §12, §12.2): pushed by the gateway with the account settings, checked by
pay, secrets generated and sealed by pay, shown on demand, and rotated with a 24 h overlap during which both
secrets sign `Pay-Signature-V2` and `Pay-Signature` keeps the old one."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.webhooks import outbox
from services.pay.webhooks.models import Webhook
from tests.pay.conftest import PayRig, change_pay_settings, new_payment
from tests.pay.test_accounts import document, internal
from tests.pay.webhooks.conftest import (
    Receiver,
    check_signed,
    deliver_all,
    hooks_of,
    messages_of,
    webhook_settings,
)


def test_pay_makes_each_webhook_a_secret_and_keeps_it_across_pushes(pay_rig: PayRig, receiver: Receiver) -> None:
    first, second = receiver.path(), receiver.path()
    settings: dict[str, Any] = {
        "test": {"webhooks": [webhook_settings(first), webhook_settings(second, events=(outbox.EXPIRED,))]},
        "live": {"provider": "sandbox", "webhooks": [webhook_settings("https://hooks.example.org/pay")]},
    }
    tenant = pay_rig.tenant(settings)
    hooks = {h["callback_url"]: h for h in hooks_of(pay_rig, tenant)}
    assert set(hooks) == {first, second}
    assert all(re.fullmatch(r"webhook_test_[0-9a-v]{26}", h["signing_secret"]) for h in hooks.values())
    assert hooks[second]["subscriptions"] == [outbox.EXPIRED] and hooks[second]["status"] == "active"
    [live] = hooks_of(pay_rig, tenant, "live")
    assert re.fullmatch(r"webhook_live_[0-9a-v]{26}", live["signing_secret"])

    settings["test"]["webhooks"] = [webhook_settings(first, events=(outbox.SUCCEEDED,))]
    assert change_pay_settings(pay_rig, tenant, settings) == {"delivered": 1}
    again = {h["callback_url"]: h for h in hooks_of(pay_rig, tenant)}
    assert again[first]["webhook_id"] == hooks[first]["webhook_id"]
    assert again[first]["signing_secret"] == hooks[first]["signing_secret"]
    assert again[first]["subscriptions"] == [outbox.SUCCEEDED]
    assert again[second]["status"] == "inactive"  # dropped from the push: kept, with its messages


def test_secrets_are_sealed_at_rest(pay_rig: PayRig, receiver: Receiver) -> None:
    tenant = pay_rig.tenant({"test": {"webhooks": [webhook_settings(receiver.path())]}})
    [hook] = hooks_of(pay_rig, tenant)

    async def raw() -> str:
        db = Database(pay_rig.pay_db, pool_size=1)
        try:
            async with db.read_session() as session:
                stored = await session.scalar(
                    text("SELECT secret FROM webhooks WHERE id = :id"), {"id": hook["webhook_id"]}
                )
                return str(stored)
        finally:
            await db.dispose()

    stored = asyncio.run(raw())
    assert hook["signing_secret"] not in stored and not stored.startswith("webhook_")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"test": {"webhooks": [{"callback_url": "https://a.example", "subscriptions": ["nope"]}]}}, "nope"),
        (
            {"test": {"webhooks": [{"callback_url": "ftp://a.example/x", "subscriptions": ["card_payment_failed"]}]}},
            "http",
        ),
        (
            {"live": {"provider": "sandbox", "webhooks": [webhook_settings("http://a.example/x")]}},
            "must use https",
        ),
        ({"test": {"webhooks": [webhook_settings("https://a.example/x")] * 2}}, "twice"),
    ],
)
def test_webhooks_pay_cannot_deliver_are_refused(pay_rig: PayRig, settings: dict[str, Any], message: str) -> None:
    service_id = uuid.uuid4()
    with internal(pay_rig, service_id) as client:
        response = client.put(f"/internal/services/{service_id}", json=document(1, **settings))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "InvalidServiceDocument" and message in response.json()["message"]


def test_rotating_an_unknown_webhook_is_404(pay_rig: PayRig) -> None:
    service_id = pay_rig.main.service_id
    with internal(pay_rig, service_id) as client:
        response = client.post(f"/internal/services/{service_id}/accounts/test/webhooks/{'0' * 26}/rotate_secret")
    assert response.status_code == 404


async def test_rotation_signs_with_both_secrets_for_24_hours(
    pay_rig: PayRig, receiver: Receiver, pay_db: Database, worker_ctx: dict[str, Any]
) -> None:
    url = receiver.path()
    tenant = await asyncio.to_thread(pay_rig.tenant, {"test": {"webhooks": [webhook_settings(url)]}})
    [hook] = hooks_of(pay_rig, tenant)
    old = hook["signing_secret"]
    with internal(pay_rig, tenant.service_id) as client:
        rotated = client.post(
            f"/internal/services/{tenant.service_id}/accounts/test/webhooks/{hook['webhook_id']}/rotate_secret"
        ).json()
    new = rotated["signing_secret"]
    assert new != old and rotated["webhook_id"] == hook["webhook_id"]
    assert "previous_secret_expires" in rotated
    [shown] = hooks_of(pay_rig, tenant)
    assert shown["signing_secret"] == new

    api = pay_rig.api(tenant.account("test"))
    during = await asyncio.to_thread(new_payment, api)
    cancelled = await asyncio.to_thread(api.post, f"/v1/payments/{during['payment_id']}/cancel")
    assert cancelled.status_code == 204
    await deliver_all(worker_ctx, pay_db, during["payment_id"])
    [hit] = receiver.of(url)
    check_signed(hit, v2_secrets=[new, old], legacy_secret=old)

    async with pay_db.write_session() as session:
        await session.execute(
            update(Webhook)
            .where(Webhook.id == hook["webhook_id"])
            .values(previous_until=utcnow() - timedelta(seconds=1))
        )
    after = await asyncio.to_thread(new_payment, api)
    cancelled = await asyncio.to_thread(api.post, f"/v1/payments/{after['payment_id']}/cancel")
    assert cancelled.status_code == 204
    [message] = await deliver_all(worker_ctx, pay_db, after["payment_id"])
    assert message.status == outbox.SUCCESSFUL
    check_signed(receiver.of(url)[1], v2_secrets=[new], legacy_secret=new)
    assert "previous_secret_expires" not in hooks_of(pay_rig, tenant)[0]
    assert len(await messages_of(pay_db, after["payment_id"])) == 1
