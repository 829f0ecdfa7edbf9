"""A service's payments in the console: the list (filtered by state and reference), a payment with its event
history and any dispute, and a refund after a confirmation step (not offered while a dispute stops refunds).

Payments live in pay; the console reads them and asks for refunds through pay's own API, as the service's live or
test account (`upstream.ServiceApi`, with the mode as the key type, as a Pay key would carry it); a payment's
disputes come from pay's internal API, since GOV.UK Pay's dispute search cannot ask for one payment. A refund is
also written to the gateway's audit log with the admin as the actor. Seeing payments needs `view_payments` or
`refund_payments` (or `admin`); refunding needs `refund_payments` (or `admin`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.internal import INTERNAL_SCOPE
from gaap.pages import CsrfProtected, PageError
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin
from gateway.console.notify import allowed, render
from gateway.console.texts import PAY_MODES, PAYMENT_STATES, REFUND_AMOUNT_ERROR, when_iso
from gateway.console.upstream import ServiceApi

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/payments", route_class=ConsoleRoute, include_in_schema=False)
VIEW = "view_payments"
REFUND = "refund_payments"
PAGE_SIZE = "50"
#: A dispute's status and reason as the payment page names them (pay spec §10).
DISPUTE_STATUSES = {
    "needs_response": "Needs response",
    "under_review": "Under review",
    "lost": "Lost",
    "won": "Won",
}
DISPUTE_REASONS = {
    "credit_not_processed": "Credit not processed",
    "duplicate": "Duplicate",
    "fraudulent": "Fraudulent",
    "general": "General",
    "product_not_received": "Product not received",
    "product_unacceptable": "Product unacceptable",
    "unrecognised": "Unrecognised",
    "subscription_cancelled": "Subscription cancelled",
    "other": "Other",
}
#: Pay refuses to refund a payment with a dispute in one of these (pay spec §6).
DISPUTE_BLOCKS_REFUND = frozenset({"needs_response", "under_review", "lost"})


def pay_api(request: Request, access: ServiceAccess, mode: str) -> ServiceApi:
    return ServiceApi(request, access, "pay", mode, frozenset({"pay"}))


def _mode(value: str) -> str:
    return value if value in PAY_MODES else "live"


def pounds(pence: Any) -> str:
    """An amount in pence as the console shows it (the same in English and Welsh)."""
    return f"£{Decimal(int(pence or 0)) / 100:,.2f}"


def _pence(text: str) -> int | None:
    """An amount the admin typed ("12", "12.50", "£1,200.00") in pence; None if it is not one."""
    try:
        pence = Decimal(text.strip().lstrip("£").replace(",", "")) * 100
    except (InvalidOperation, ArithmeticError):
        return None
    if not pence.is_finite() or pence <= 0 or pence != pence.to_integral_value():
        return None
    return int(pence)


@router.get("", response_class=HTMLResponse)
async def payments_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    state: Annotated[str, Query()] = "",
    reference: Annotated[str, Query(max_length=255)] = "",
    mode: Annotated[str, Query()] = "live",
) -> HTMLResponse:
    """The account's newest payments, filtered by state and reference."""
    access = await allowed(session, admin, service_id, VIEW, REFUND)
    filters = {"state": state if state in PAYMENT_STATES else "", "reference": reference.strip(), "mode": _mode(mode)}
    params = {"display_size": PAGE_SIZE, **{k: filters[k] for k in ("state", "reference") if filters[k]}}
    answer = await pay_api(request, access, filters["mode"]).call("GET", "/v1/payments", params=params)
    found = answer.body.get("results", []) if answer.ok and isinstance(answer.body, dict) else []
    rows = [{**p, "amount_text": pounds(p.get("amount")), "created": when_iso(p.get("created_date"))} for p in found]
    context = {"admin": admin, "access": access, "rows": rows, "filters": filters}
    context.update({"states": PAYMENT_STATES, "modes": PAY_MODES})
    return render(request, "console/payments.html", context)


async def _payment(api: ServiceApi, payment_id: str) -> dict[str, Any]:
    if not (payment_id.isascii() and payment_id.isalnum() and len(payment_id) <= 64):
        raise PageError(status_code=404)
    answer = await api.call("GET", f"/v1/payments/{payment_id}")
    if not answer.ok:
        raise PageError(status_code=404)
    payment: dict[str, Any] = answer.body
    payment["amount_text"] = pounds(payment.get("amount"))
    payment["available"] = int((payment.get("refund_summary") or {}).get("amount_available") or 0)
    payment["refundable"] = (payment.get("refund_summary") or {}).get("status") == "available"
    return payment


async def _disputes(request: Request, access: ServiceAccess, mode: str, payment_id: str) -> list[dict[str, Any]]:
    """The payment's disputes, oldest first, from pay's internal API (the public search cannot ask by payment)."""
    api = ServiceApi(request, access, "pay", mode, frozenset({INTERNAL_SCOPE}))
    path = f"/internal/services/{access.service.id}/accounts/{mode}/payments/{payment_id}/disputes"
    answer = await api.call("GET", path)
    found = answer.body.get("disputes", []) if answer.ok and isinstance(answer.body, dict) else []
    return [
        {
            **dispute,
            "amount_text": pounds(dispute.get("amount")),
            "fee_text": pounds(dispute["fee"]) if dispute.get("fee") is not None else "",
            "evidence_due": when_iso(dispute.get("evidence_due_date")),
        }
        for dispute in found
        if isinstance(dispute, dict)
    ]


@router.get("/{payment_id}", response_class=HTMLResponse)
async def payment_page(
    request: Request,
    service_id: uuid.UUID,
    payment_id: str,
    admin: SignedInAdmin,
    session: ReadSession,
    mode: Annotated[str, Query()] = "live",
) -> HTMLResponse:
    """The payment, what can still be refunded, and every change of its state, oldest first."""
    access = await allowed(session, admin, service_id, VIEW, REFUND)
    api = pay_api(request, access, _mode(mode))
    payment = await _payment(api, payment_id)
    disputes = await _disputes(request, access, _mode(mode), payment["payment_id"])
    disputed = any(dispute.get("status") in DISPUTE_BLOCKS_REFUND for dispute in disputes)
    answer = await api.call("GET", f"/v1/payments/{payment_id}/events")
    events = [
        {"state": (e.get("state") or {}).get("status", ""), "updated": when_iso(e.get("updated"))}
        for e in (answer.body.get("events", []) if answer.ok else [])
    ]
    context = {
        "admin": admin,
        "access": access,
        "payment": payment,
        "events": events,
        "mode": _mode(mode),
        "states": PAYMENT_STATES,
        "available_text": pounds(payment["available"]),
        "may_refund": access.may(REFUND) and payment["refundable"] and not disputed,
        "refunded": request.query_params.get("refunded") == "1",
        "disputes": disputes,
        "disputed": disputed,
        "dispute_statuses": DISPUTE_STATUSES,
        "dispute_reasons": DISPUTE_REASONS,
    }
    return render(request, "console/payment.html", context)


def _refund_form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    payment: dict[str, Any],
    mode: str,
    amount: str,
    error: str = "",
    refused: list[str] | None = None,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "payment": payment,
        "mode": mode,
        "amount": amount,
        "available_text": pounds(payment["available"]),
        "error": error,
        "refused": refused or [],
        "has_errors": bool(error or refused),
    }
    return render(request, "console/refund.html", context, 400 if error or refused else 200)


@router.get("/{payment_id}/refund", response_class=HTMLResponse)
async def refund_page(
    request: Request,
    service_id: uuid.UUID,
    payment_id: str,
    admin: SignedInAdmin,
    session: ReadSession,
    mode: Annotated[str, Query()] = "live",
) -> Response:
    """How much to refund (all that is left, unless the admin says otherwise)."""
    access = await allowed(session, admin, service_id, REFUND)
    payment = await _payment(pay_api(request, access, _mode(mode)), payment_id)
    if not payment["refundable"]:
        return RedirectResponse(_detail(service_id, payment_id, mode), status_code=303)
    amount = pounds(payment["available"]).lstrip("£")
    return _refund_form(request, admin, access, payment, _mode(mode), amount)


def _detail(service_id: uuid.UUID, payment_id: str, mode: str) -> str:
    return f"/console/services/{service_id}/payments/{payment_id}?mode={_mode(mode)}"


@router.post("/{payment_id}/refund")
async def refund(
    request: Request,
    service_id: uuid.UUID,
    payment_id: str,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    mode: Annotated[str, Query()] = "live",
    amount: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """First the amount is checked and the admin asked to confirm; the confirmed form asks pay for the refund."""
    access = await allowed(session, admin, service_id, REFUND)
    api = pay_api(request, access, _mode(mode))
    payment = await _payment(api, payment_id)
    pence = _pence(amount)
    if pence is None or pence > payment["available"]:
        return _refund_form(request, admin, access, payment, _mode(mode), amount, REFUND_AMOUNT_ERROR)
    if confirmed != "yes":
        context = {"admin": admin, "access": access, "payment": payment, "mode": _mode(mode)}
        context.update({"amount": amount, "amount_text": pounds(pence)})
        return render(request, "console/confirm_refund.html", context)
    body = {"amount": pence, "refund_amount_available": payment["available"]}
    answer = await api.call("POST", f"/v1/payments/{payment_id}/refunds", json=body)
    if not answer.ok:
        refused = [str(answer.body.get("description", ""))] if isinstance(answer.body, dict) else []
        return _refund_form(request, admin, access, payment, _mode(mode), amount, refused=refused)
    await audit.record(
        session,
        actor=admin.actor,
        action="payment.refund",
        target_type="payment",
        target_id=payment_id,
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"refund_id": str(answer.body.get("refund_id", "")), "amount": pence, "mode": _mode(mode)},
    )
    return RedirectResponse(_detail(service_id, payment_id, mode) + "&refunded=1", status_code=303)
