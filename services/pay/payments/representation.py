"""The payment resource (pay spec §5.2) and its `_links`, exactly as GOV.UK Pay shapes them: null members omitted
(except inside `card_details`, which always has all its keys), datetimes with three fractional digits, and links
present exactly when the §5.2 table says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.pay.formats import datetime_ms, iso_date
from services.pay.payments.models import Payment
from services.pay.payments.states import public_state
from services.pay.provider import can_refund
from services.pay.provider.cards import BRAND_LABELS

OPEN_FOR_PAYER = frozenset({"created", "started", "submitted"})


@dataclass(frozen=True)
class Origins:
    """Where absolute links point (§2): the API and the payment pages, from configuration."""

    api: str
    frontend: str

    def payment(self, payment_id: str) -> str:
        return f"{self.api}/v1/payments/{payment_id}"


def link(href: str, method: str = "GET") -> dict[str, Any]:
    return {"href": href, "method": method}


def post_link(href: str, content_type: str, params: dict[str, str]) -> dict[str, Any]:
    return {"href": href, "method": "POST", "type": content_type, "params": params}


def refund_summary(payment: Payment) -> dict[str, Any]:
    """§6: `pending` while unfinished, `available` or `full` once successful, `unavailable` otherwise (including
    a provider that cannot refund)."""
    state = public_state(payment.status)
    available = payment.total - payment.refunded_amount
    if not state.finished:
        status = "pending"
    elif state.status != "success" or not can_refund(payment.provider):
        status, available = "unavailable", 0
    else:
        status = "full" if available <= 0 else "available"
    return {"status": status, "amount_available": available, "amount_submitted": payment.refunded_amount}


def settlement_summary(payment: Payment) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if payment.capture_submitted_at is not None:
        summary["capture_submit_time"] = datetime_ms(payment.capture_submitted_at)
    if payment.captured_date is not None:
        summary["captured_date"] = iso_date(payment.captured_date)
    if payment.settled_date is not None:
        summary["settled_date"] = iso_date(payment.settled_date)
    return summary


class KeptCard(Protocol):
    """The card fields pay keeps (§13.6), on a payment or on an agreement's stored instrument."""

    last_digits: str | None
    first_digits: str | None
    cardholder_name: str | None
    card_expiry: str | None
    billing_address: dict[str, Any] | None
    card_brand: str | None
    card_type: str | None


def card_details(payment: KeptCard) -> dict[str, Any] | None:
    if payment.last_digits is None:
        return None
    return {
        "last_digits_card_number": payment.last_digits,
        "first_digits_card_number": payment.first_digits,
        "cardholder_name": payment.cardholder_name,
        "expiry_date": payment.card_expiry,
        "billing_address": payment.billing_address,
        "card_brand": BRAND_LABELS.get(payment.card_brand or "", None),
        "card_type": payment.card_type,
        "wallet_type": None,
    }


def links(
    payment: Payment,
    origins: Origins,
    *,
    next_url_token: str | None = None,
    moto_token: str | None = None,
) -> dict[str, Any]:
    """Every link of the full resource; pass the tokens that apply (a search result passes none)."""
    state = public_state(payment.status)
    self_href = origins.payment(payment.id)
    out: dict[str, Any] = {"self": link(self_href)}
    if next_url_token is not None:
        out["next_url"] = link(f"{origins.frontend}/secure/{next_url_token}")
        out["next_url_post"] = post_link(
            f"{origins.frontend}/secure", "application/x-www-form-urlencoded", {"chargeTokenId": next_url_token}
        )
    if moto_token is not None:
        out["auth_url_post"] = post_link(f"{origins.api}/v1/auth", "application/json", {"one_time_token": moto_token})
    out["events"] = link(f"{self_href}/events")
    out["refunds"] = link(f"{self_href}/refunds")
    if not state.finished and payment.authorisation_mode != "agreement":
        out["cancel"] = link(f"{self_href}/cancel", "POST")
    if state.status == "capturable":
        out["capture"] = link(f"{self_href}/capture", "POST")
    return out


def wants_next_url(payment: Payment) -> bool:
    return payment.authorisation_mode == "web" and public_state(payment.status).status in OPEN_FOR_PAYER


def wants_moto_token(payment: Payment) -> bool:
    return payment.authorisation_mode == "moto_api" and not public_state(payment.status).finished


def payment_json(payment: Payment, resource_links: dict[str, Any] | None) -> dict[str, Any]:
    """The §5.2 resource; `resource_links` None leaves `_links` out (a webhook's `resource`, §12)."""
    body: dict[str, Any] = {
        "amount": payment.amount,
        "description": payment.description,
        "reference": payment.reference,
        "language": payment.language,
    }
    if payment.email is not None:
        body["email"] = payment.email
    if payment.metadata_:
        body["metadata"] = payment.metadata_
    state = public_state(payment.status)
    body["state"] = state.as_json()
    if payment.authorisation_mode == "agreement" and state.status == "failed" and payment.can_retry is not None:
        body["state"]["can_retry"] = payment.can_retry
    body["payment_id"] = payment.id
    body["payment_provider"] = payment.provider
    if payment.provider_id is not None:
        body["provider_id"] = payment.provider_id
    body["created_date"] = datetime_ms(payment.created_at)
    body["refund_summary"] = refund_summary(payment)
    body["settlement_summary"] = settlement_summary(payment)
    body["delayed_capture"] = payment.delayed_capture
    body["moto"] = payment.moto
    body["authorisation_mode"] = payment.authorisation_mode
    if payment.agreement_id is not None:
        body["agreement_id"] = payment.agreement_id
    if payment.agreement_payment_type is not None:
        body["agreement_payment_type"] = payment.agreement_payment_type
    if payment.authorisation_mode == "web" and payment.return_url is not None:
        body["return_url"] = payment.return_url
    details = card_details(payment)
    if details is not None:
        body["card_details"] = details
        if details["card_brand"] is not None:
            body["card_brand"] = details["card_brand"]
    if payment.three_ds_required:
        body["authorisation_summary"] = {"three_d_secure": {"required": True}}
    if payment.corporate_card_surcharge:
        body["corporate_card_surcharge"] = payment.corporate_card_surcharge
        body["total_amount"] = payment.total
    if resource_links is not None:
        body["_links"] = resource_links
    return body


def event_json(payment_id: str, status: str, updated: Any, origins: Origins) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "state": public_state(status).as_json(),
        "updated": datetime_ms(updated),
        "_links": {"payment_url": link(origins.payment(payment_id))},
    }
