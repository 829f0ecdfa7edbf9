"""Confirmation emails (pay spec §13.1, §13.7): a payer who confirms a payment with an email address gets one email,
through the platform's notify reached through its gateway with pay's own Notify key, delivered to the SMTP sink;
Welsh for a `cy` payment; none when the account turns them off, no address is known or pay has no Notify key; and
exactly one when notify is unreachable for a while or loses an answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from gaap.db.engine import Database
from gaap.embedded.inbox import EmailSummary
from gaap.embedded.smtp_sink import SmtpSink
from gaap.pages.i18n import Catalogues
from gateway.demo_templates import NotifyKeyAuth
from services.pay.receipts.models import SENT, ConfirmationEmail
from services.pay.receipts.templates import LOCALE_DIR, MESSAGES
from services.pay.settings import PaySettings
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import copies_stored, eventually, stored
from tests.pay.conftest import PayRig, Tenant, change_pay_settings, new_payment
from tests.pay.pages.payer import PayerBrowser, card_form
from tests.pay.receipts.conftest import NotifyDoor, outbox_row

ONLY_POSTGRESQL = pytest.mark.parametrize("pay_rig", ["postgresql"], indirect=True)


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The workers run in the test's event loop: the test's own blocking HTTP calls go to a thread."""
    return await asyncio.to_thread(function, *args, **kwargs)


def pay_on_the_pages(rig: PayRig, tenant: Tenant, **create: Any) -> dict[str, Any]:
    """A department creates a payment through the gateway with its Pay key; the payer pays with the success card on
    the hosted pages, through the gateway, and confirms."""
    payment = new_payment(rig.gateway(tenant.keys["test"]), **create)
    with httpx.Client(base_url=rig.gateway_url, timeout=30) as client:
        payer = PayerBrowser(client)
        payer.open(payment)
        form = card_form(email=create.get("email") or "")
        card = payer.post(f"/card_details/{payment['payment_id']}", form)
        assert card.status_code == 303 and card.headers["location"].endswith("/confirm"), card.text
        payer.follow(card)
        confirmed = payer.post(f"/card_details/{payment['payment_id']}/confirm")
        assert confirmed.status_code == 303, confirmed.text
    return payment


async def sent_email(pay_db: Database, sink: SmtpSink, payment_id: str) -> tuple[ConfirmationEmail, EmailSummary]:
    """The outbox row once pay has sent it, and the email once notify has delivered it to the sink."""

    async def row_sent() -> ConfirmationEmail | None:
        row = await outbox_row(pay_db, payment_id)
        return row if row is not None and row.status == SENT else None

    row: ConfirmationEmail = await eventually(row_sent, within=30)

    async def delivered() -> EmailSummary | None:
        return stored(sink, row.notification_id or "")

    email: EmailSummary = await eventually(delivered, within=30)
    return row, email


async def test_a_confirmed_payment_is_emailed_once_with_its_details(
    receipts_on: PayRig, workers: None, pay_db: Database, email_sink: SmtpSink
) -> None:
    tenant = await call(receipts_on.tenant, {"email_custom_paragraph": "Your permit arrives within 5 working days."})
    payment = await call(
        pay_on_the_pages,
        receipts_on,
        tenant,
        amount=12345,
        reference="PERMIT-77",
        description="Resident parking permit",
        email="payer@example.org",
    )
    row, email = await sent_email(pay_db, email_sink, payment["payment_id"])

    assert row.attempt == 1 and row.error is None and row.language == "en"
    assert email.to == ("payer@example.org",)
    assert email.subject == "Your payment to Pay was successful"
    body = email.text_body or ""
    for expected in (
        "Your permit arrives within 5 working days.",
        "Payment reference: PERMIT-77",
        "Payment for: Resident parking permit",
        "Total amount: £123.45",
        f"Payment ID: {payment['payment_id']}",
        "Date of payment: ",
    ):
        assert expected in body, (expected, body)
    assert copies_stored(email_sink, row.notification_id or "") == 1
    state = (await call(receipts_on.api(tenant.account()).get, f"/v1/payments/{payment['payment_id']}")).json()
    assert state["state"]["status"] == "success"


@ONLY_POSTGRESQL
async def test_a_welsh_payment_gets_the_welsh_email(
    receipts_on: PayRig, workers: None, pay_db: Database, email_sink: SmtpSink
) -> None:
    tenant = await call(receipts_on.tenant)
    payment = await call(
        pay_on_the_pages,
        receipts_on,
        tenant,
        language="cy",
        delayed_capture=True,  # GOV.UK Pay emails when the payer confirms: `capturable` too
        amount=500,
        email="talwr@example.org",
    )
    row, email = await sent_email(pay_db, email_sink, payment["payment_id"])

    assert row.language == "cy"
    assert email.subject == "Roedd eich taliad i Pay yn llwyddiannus"
    body = email.text_body or ""
    assert "Cyfanswm: £5.00" in body and "Cyfeirnod y taliad: CT-0001" in body
    assert "Payment" not in body


def test_every_message_of_the_email_has_a_welsh_translation() -> None:
    welsh = Catalogues([LOCALE_DIR]).translations("cy")
    assert [m for m in MESSAGES if welsh.gettext(m) == m] == []


@ONLY_POSTGRESQL
async def test_no_email_when_the_account_turns_them_off_no_address_is_known_or_pay_has_no_key(
    receipts_on: PayRig, pay_db: Database
) -> None:
    off = await call(receipts_on.tenant, {"email_notifications": False})
    turned_off = await call(pay_on_the_pages, receipts_on, off, email="payer@example.org")
    no_address = await call(receipts_on.tenant, {"email_collection_mode": "OFF"})
    without = await call(pay_on_the_pages, receipts_on, no_address)
    receipts_on.settings.notify_api_key = SecretStr("")
    keyless = await call(pay_on_the_pages, receipts_on, await call(receipts_on.tenant), email="payer@example.org")

    for payment in (turned_off, without, keyless):
        assert await outbox_row(pay_db, payment["payment_id"]) is None
    # The setting is the account's own, pushed by the gateway like the others, and checked by pay.
    refused = await call(change_pay_settings, receipts_on, off, {"email_custom_paragraph": "x" * 5001})
    assert refused == {"rejected": 1}


@ONLY_POSTGRESQL
async def test_notify_unreachable_for_a_while_then_back_sends_exactly_one_email(
    receipts_on: PayRig,
    workers: None,
    pay_db: Database,
    email_sink: SmtpSink,
    notify_door: NotifyDoor,
    notify_rig: NotifyRig,
    pay_notify_key: str,
) -> None:
    # Unreachable for three requests, then notify takes the email but its answer is lost on the way back.
    notify_door.down, notify_door.lost = 3, 1
    tenant = await call(receipts_on.tenant)
    payment = await call(pay_on_the_pages, receipts_on, tenant, email="patient@example.org")
    row, email = await sent_email(pay_db, email_sink, payment["payment_id"])

    assert row.attempt >= 3  # failed while notify was down, then the lost answer, then the replay
    assert notify_door.email_sends == 2  # the send whose answer was lost, and its retry with the same key
    assert email.to == ("patient@example.org",)
    assert copies_stored(email_sink, row.notification_id or "") == 1
    async with httpx.AsyncClient(base_url=notify_rig.url, auth=NotifyKeyAuth(pay_notify_key)) as api:
        listed = await api.get("/v2/notifications", params={"reference": payment["payment_id"]})
    assert [n["id"] for n in listed.json()["notifications"]] == [row.notification_id]


def test_a_malformed_notify_key_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="not a Notify API key"):
        PaySettings(notify_api_key=SecretStr("api_live_not-a-notify-key"))
