"""Checked by `mypy --strict` in test_typing.py, never run: what a departmental developer's editor sees."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

from gaap_client import (
    AsyncIdentityClient,
    AsyncNotifyClient,
    AsyncPayClient,
    AuthorizationRequest,
    IdentityClient,
    NotifyClient,
    PayClient,
    Platform,
    SignedIn,
)
from gaap_client.types import Agreement, Dispute, Notification, Payment, SentEmail


def sync_usage(notify: NotifyClient, pay: PayClient, platform: Platform) -> None:
    sent: SentEmail = notify.send_email("a@example.gov.uk", "template-id", personalisation={"name": "Ada"})
    listing: Iterator[Notification] = notify.notifications(status="delivered")
    payment: Payment = pay.create_payment(100, "REF", "Description", "https://example.gov.uk/done")
    nothing: None = pay.cancel_payment(payment["payment_id"])
    subject: str = sent["content"]["subject"]
    assert platform.notify.get_notification(sent["id"])["status"]
    wrong: int = notify.send_sms("07700900123", "template-id")  # type: ignore[assignment]
    del listing, nothing, subject, wrong


async def async_usage(notify: AsyncNotifyClient, pay: AsyncPayClient) -> None:
    pending: Coroutine[Any, Any, SentEmail] = notify.send_email("a@example.gov.uk", "template-id")
    sent = await pending
    listing: AsyncIterator[Payment] = pay.payments(reference="REF")
    async for payment in listing:
        amount: int = payment["amount"]
        del amount
    not_awaited: SentEmail = notify.send_email("a@example.gov.uk", "id")  # type: ignore[assignment]
    del sent, not_awaited


def identity_usage(sync: IdentityClient) -> None:
    request: AuthorizationRequest = sync.authorization_request(vtr="Cl.Cm")
    signed_in: SignedIn = sync.finish_sign_in("https://rp/callback?code=x&state=y", request)
    email: Any = sync.userinfo(signed_in.access_token)["email"]
    del email


async def async_identity_usage(identity: AsyncIdentityClient) -> None:
    request = await identity.authorization_request()
    not_awaited: AuthorizationRequest = identity.authorization_request()  # type: ignore[assignment]
    del request, not_awaited


async def dispute_usage(sync: PayClient, aio: AsyncPayClient) -> None:
    lost: Iterator[Dispute] = sync.search_disputes(status="lost", display_size=100)
    for dispute in lost:
        net: int = dispute.get("net_amount", 0)
        del net
    async for dispute in aio.search_disputes(from_settled_date="2026-01-01"):
        due: str = dispute["evidence_due_date"]
        del due
    wrong: list[Dispute] = sync.search_disputes()  # type: ignore[assignment]
    del wrong


async def agreement_usage(sync: PayClient, aio: AsyncPayClient) -> None:
    agreement: Agreement = sync.create_agreement("REF", "Council tax", user_identifier="user-1")
    active: Iterator[Agreement] = sync.agreements(status="active", display_size=100)
    for found in active:
        if "payment_instrument" in found:
            card: dict[str, Any] = found["payment_instrument"]["card_details"]
            del card
    async for found in aio.agreements(reference="REF"):
        status: str = found["status"]
        del status
    await aio.cancel_agreement(agreement["agreement_id"], idempotency_key="cancel-1")
    payment: Payment = sync.create_payment(
        100, "REF", "Month 2", authorisation_mode="agreement", agreement_id=agreement["agreement_id"]
    )
    retry: bool = payment["state"].get("can_retry", True)
    fetched: Agreement = await aio.get_agreement(agreement["agreement_id"])
    not_awaited: Agreement = aio.get_agreement("id")  # type: ignore[assignment]
    del active, retry, fetched, not_awaited
