"""`GET /v1/payments` parameters (pay spec §5.4), in GOV.UK Pay's order for the P0401 message."""

from __future__ import annotations

from services.pay.paging import Paging, Query, digits, filter_date, filter_datetime, one_of, text
from services.pay.payments.repository import PaymentFilters
from services.pay.payments.states import PUBLIC, PUBLIC_STATUSES
from services.pay.provider.cards import BRAND_LABELS


def _statuses(public: str | None) -> list[str] | None:
    """The internal statuses behind a public one (`capturable` included: §14's strict superset)."""
    if public is None:
        return None
    return [internal.value for internal, state in PUBLIC.items() if state.status == public]


def payment_filters(query: Query) -> tuple[PaymentFilters, Paging]:
    """Parse every filter and the paging; bad ones are collected in `query.bad` for the caller to raise."""
    state = query.get("state", one_of(PUBLIC_STATUSES))
    reference = query.get("reference", text(255))
    email = query.get("email", text(254))
    card_brand = query.get("card_brand", lambda v: v if len(v) <= 20 and v in BRAND_LABELS else None)
    from_date = query.get("from_date", filter_datetime)
    to_date = query.get("to_date", filter_datetime)
    from_settled = query.get("from_settled_date", filter_date)
    to_settled = query.get("to_settled_date", filter_date)
    paging = Paging.read(query)
    filters = PaymentFilters(
        reference=reference,
        email=email,
        statuses=_statuses(state),
        card_brand=card_brand,
        from_date=from_date,
        to_date=to_date,
        from_settled_date=from_settled,
        to_settled_date=to_settled,
        agreement_id=query.get("agreement_id", lambda v: v if len(v) == 26 else None),
        cardholder_name=query.get("cardholder_name", text(255)),
        first_digits=query.get("first_digits_card_number", digits(6)),
        last_digits=query.get("last_digits_card_number", digits(4)),
    )
    return filters, paging
