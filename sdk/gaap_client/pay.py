"""The Pay-compatible API (`/v1/*`): `PayClient` and `AsyncPayClient`, with the same methods.

A Pay key (`api_test_...` or `api_live_...`) is sent as `Authorization: Bearer <key>`; it selects the account
(the service's test or live mode). Amounts are integer pence.
"""

from __future__ import annotations

from typing import Any, cast

from gaap_client._core import (
    AsyncClient,
    AsyncTransport,
    Call,
    Page,
    SyncClient,
    SyncTransport,
    operation,
    pages,
    read_json,
    read_nothing,
)
from gaap_client.types import Agreement, Dispute, Payment, PaymentEvent, Refund


class PayKey:
    def __init__(self, key: str) -> None:
        if not key.startswith(("api_test_", "api_live_")):
            raise ValueError("not a Pay API key: it starts with api_test_ or api_live_")
        self._key = key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"}


def _omit_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _search(path: str, params: dict[str, Any], links: str = "_links") -> Call[Page[Any]]:
    """A search page, and the next one while `_links.next_page` (`links.next_page` for disputes) says there is one."""

    def read(response: Any) -> Page[Any]:
        body = response.json()
        items = list(body["results"])
        if "next_page" not in body.get(links, {}):
            return Page(items, None)
        return Page(items, _search(path, {**params, "page": int(body["page"]) + 1}, links))

    return Call("GET", path, read, params=params)


def _create_payment(
    amount: int,
    reference: str,
    description: str,
    return_url: str | None = None,
    *,
    language: str | None = None,
    email: str | None = None,
    prefilled_cardholder_details: dict[str, Any] | None = None,
    delayed_capture: bool | None = None,
    moto: bool | None = None,
    metadata: dict[str, Any] | None = None,
    authorisation_mode: str | None = None,
    set_up_agreement: str | None = None,
    agreement_id: str | None = None,
    agreement_payment_type: str | None = None,
    idempotency_key: str | None = None,
) -> Call[Payment]:
    """Create a payment (`POST /v1/payments`); send the payer to `_links.next_url.href` to pay."""
    body = _omit_none(
        amount=amount,
        reference=reference,
        description=description,
        return_url=return_url,
        language=language,
        email=email,
        prefilled_cardholder_details=prefilled_cardholder_details,
        delayed_capture=delayed_capture,
        moto=moto,
        metadata=metadata,
        authorisation_mode=authorisation_mode,
        set_up_agreement=set_up_agreement,
        agreement_id=agreement_id,
        agreement_payment_type=agreement_payment_type,
    )
    return Call("POST", "/v1/payments", read_json, json=body, idempotency_key=idempotency_key)


def _get_payment(payment_id: str) -> Call[Payment]:
    """A payment, with a fresh one-time `next_url` while the payer can still pay."""
    return Call("GET", f"/v1/payments/{payment_id}", read_json)


def _payments(
    *,
    reference: str | None = None,
    email: str | None = None,
    state: str | None = None,
    card_brand: str | None = None,
    first_digits_card_number: str | None = None,
    last_digits_card_number: str | None = None,
    cardholder_name: str | None = None,
    from_date: str | None = None,
    to_date: str | None = None,
    from_settled_date: str | None = None,
    to_settled_date: str | None = None,
    agreement_id: str | None = None,
    display_size: int | None = None,
) -> Call[Page[Payment]]:
    """Every payment of the account matching the filters, newest first, a page at a time (`GET /v1/payments`).

    Pages are numbered: payments created while you iterate shift later pages by as many places."""
    params = _omit_none(
        reference=reference,
        email=email,
        state=state,
        card_brand=card_brand,
        first_digits_card_number=first_digits_card_number,
        last_digits_card_number=last_digits_card_number,
        cardholder_name=cardholder_name,
        from_date=from_date,
        to_date=to_date,
        from_settled_date=from_settled_date,
        to_settled_date=to_settled_date,
        agreement_id=agreement_id,
        display_size=display_size,
    )
    return _search("/v1/payments", params)


def _cancel_payment(payment_id: str) -> Call[None]:
    """Cancel a payment the payer has not finished (`POST /v1/payments/{id}/cancel`, 204)."""
    return Call("POST", f"/v1/payments/{payment_id}/cancel", read_nothing)


def _capture_payment(payment_id: str) -> Call[None]:
    """Capture a delayed-capture payment (`POST /v1/payments/{id}/capture`, 204)."""
    return Call("POST", f"/v1/payments/{payment_id}/capture", read_nothing)


def _read_events(response: Any) -> list[PaymentEvent]:
    return cast(list[PaymentEvent], response.json()["events"])


def _payment_events(payment_id: str) -> Call[list[PaymentEvent]]:
    """The payment's changes of state, oldest first."""
    return Call("GET", f"/v1/payments/{payment_id}/events", _read_events)


def _create_refund(
    payment_id: str,
    amount: int,
    *,
    refund_amount_available: int | None = None,
    idempotency_key: str | None = None,
) -> Call[Refund]:
    """Refund some or all of a payment (`POST /v1/payments/{id}/refunds`). With `refund_amount_available`, the
    refund is refused (412) if another refund changed what is available since you read it."""
    body = _omit_none(amount=amount, refund_amount_available=refund_amount_available)
    return Call("POST", f"/v1/payments/{payment_id}/refunds", read_json, json=body, idempotency_key=idempotency_key)


def _get_refund(payment_id: str, refund_id: str) -> Call[Refund]:
    return Call("GET", f"/v1/payments/{payment_id}/refunds/{refund_id}", read_json)


def _read_refunds(response: Any) -> list[Refund]:
    return cast(list[Refund], response.json()["_embedded"]["refunds"])


def _payment_refunds(payment_id: str) -> Call[list[Refund]]:
    """A payment's refunds, oldest first."""
    return Call("GET", f"/v1/payments/{payment_id}/refunds", _read_refunds)


def _refunds(
    *,
    from_date: str | None = None,
    to_date: str | None = None,
    from_settled_date: str | None = None,
    to_settled_date: str | None = None,
    display_size: int | None = None,
) -> Call[Page[Refund]]:
    """Every refund of the account matching the filters, a page at a time (`GET /v1/refunds`)."""
    params = _omit_none(
        from_date=from_date,
        to_date=to_date,
        from_settled_date=from_settled_date,
        to_settled_date=to_settled_date,
        display_size=display_size,
    )
    return _search("/v1/refunds", params)


def _search_disputes(
    *,
    from_date: str | None = None,
    to_date: str | None = None,
    from_settled_date: str | None = None,
    to_settled_date: str | None = None,
    status: str | None = None,
    display_size: int | None = None,
) -> Call[Page[Dispute]]:
    """Every dispute of the account matching the filters, newest first, a page at a time (`GET /v1/disputes`):
    `status` is `needs_response`, `under_review`, `lost` or `won`; dates as for `payments`."""
    params = _omit_none(
        from_date=from_date,
        to_date=to_date,
        from_settled_date=from_settled_date,
        to_settled_date=to_settled_date,
        status=status,
        display_size=display_size,
    )
    # GOV.UK Pay puts this list's paging links under `links`, every other list's under `_links`.
    return _search("/v1/disputes", params, links="links")


def _authorise_moto(
    one_time_token: str,
    card_number: str,
    expiry_date: str,
    cardholder_name: str,
    cvc: str,
    *,
    idempotency_key: str | None = None,
) -> Call[None]:
    """Authorise a `moto_api` payment with card details taken by your own service (`POST /v1/auth`, 204): the
    token is `_links.auth_url_post.params.one_time_token`. Sending card details makes your service subject to PCI
    DSS; the API key is not sent. Allow at least 15 seconds."""
    body = {
        "one_time_token": one_time_token,
        "card_number": card_number,
        "expiry_date": expiry_date,
        "cardholder_name": cardholder_name,
        "cvc": cvc,
    }
    return Call("POST", "/v1/auth", read_nothing, json=body, idempotency_key=idempotency_key, anonymous=True)


def _create_agreement(
    reference: str,
    description: str,
    *,
    user_identifier: str | None = None,
    idempotency_key: str | None = None,
) -> Call[Agreement]:
    """Create an agreement for recurring card payments (`POST /v1/agreements`, 201): then create a payment with
    `set_up_agreement=<agreement_id>` for the payer to save their card to it. `description` is shown to the payer;
    `user_identifier` must not be personal data."""
    body = _omit_none(reference=reference, description=description, user_identifier=user_identifier)
    return Call("POST", "/v1/agreements", read_json, json=body, idempotency_key=idempotency_key)


def _get_agreement(agreement_id: str) -> Call[Agreement]:
    """An agreement, with its card (`payment_instrument`) once a set-up payment saved one."""
    return Call("GET", f"/v1/agreements/{agreement_id}", read_json)


def _agreements(
    *, reference: str | None = None, status: str | None = None, display_size: int | None = None
) -> Call[Page[Agreement]]:
    """Every agreement of the account matching the filters, newest first, a page at a time (`GET /v1/agreements`):
    `status` is `created`, `active`, `cancelled` or `inactive`."""
    return _search("/v1/agreements", _omit_none(reference=reference, status=status, display_size=display_size))


def _cancel_agreement(agreement_id: str, *, idempotency_key: str | None = None) -> Call[None]:
    """Cancel an active agreement (`POST /v1/agreements/{id}/cancel`, 204): no more recurring payments, and the
    card is deleted at the provider."""
    return Call("POST", f"/v1/agreements/{agreement_id}/cancel", read_nothing, idempotency_key=idempotency_key)


class _PayMethods:
    create_payment = operation(_create_payment)
    get_payment = operation(_get_payment)
    payments = pages(_payments)
    cancel_payment = operation(_cancel_payment)
    capture_payment = operation(_capture_payment)
    payment_events = operation(_payment_events)
    authorise_moto = operation(_authorise_moto)
    create_refund = operation(_create_refund)
    get_refund = operation(_get_refund)
    payment_refunds = operation(_payment_refunds)
    refunds = pages(_refunds)
    search_disputes = pages(_search_disputes)
    create_agreement = operation(_create_agreement)
    get_agreement = operation(_get_agreement)
    agreements = pages(_agreements)
    cancel_agreement = operation(_cancel_agreement)


class PayClient(_PayMethods, SyncClient):
    """`PayClient(base_url, api_key)`: every method returns the API's answer; searches are lazy iterators."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(SyncTransport(base_url, PayKey(api_key), **options))


class AsyncPayClient(_PayMethods, AsyncClient):
    """`AsyncPayClient(base_url, api_key)`: the same methods, awaited; searches are async iterators."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(AsyncTransport(base_url, PayKey(api_key), **options))
