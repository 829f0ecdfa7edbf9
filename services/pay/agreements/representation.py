"""The agreement resource (pay spec §8): null members omitted, `payment_instrument` once a card was saved, its
`card_details` exactly as a payment's (§5.2, the wire key of §14)."""

from __future__ import annotations

from typing import Any

from services.pay.agreements.models import Agreement, PaymentInstrument
from services.pay.formats import datetime_ms
from services.pay.payments.representation import card_details


def agreement_json(agreement: Agreement, instrument: PaymentInstrument | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agreement_id": agreement.id,
        "reference": agreement.reference,
        "description": agreement.description,
        "status": agreement.status,
    }
    if agreement.user_identifier is not None:
        body["user_identifier"] = agreement.user_identifier
    body["created_date"] = datetime_ms(agreement.created_at)
    if agreement.cancelled_at is not None:
        body["cancelled_date"] = datetime_ms(agreement.cancelled_at)
    if instrument is not None:
        body["payment_instrument"] = {
            "type": "card",
            "card_details": card_details(instrument),
            "created_date": datetime_ms(instrument.created_at),
        }
    return body
