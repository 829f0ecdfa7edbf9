"""The hosted payment pages (pay spec §13.1). Routes read the visit, call the journey and shape the page or the
303; the rules live in `service`, `authorisation` and `validation`.

Every `/card_details/...`, `/check_card/...` and `/return/...` route needs the payment in the browser's
`pay_session`, and every form post a CSRF token bound to that session (`PayerVisit`). The token exchange (`/secure`)
needs neither: the one-time token is its credential, and `POST /secure` comes from the service's own site.
Request bodies are never logged (§13.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from gaap.db.base import utcnow
from gaap.logging import get_logger
from gaap.pages import PageError, PageRoute
from services.pay.accounts.models import Account
from services.pay.agreements.service import setup_description
from services.pay.deps import after_commit
from services.pay.ids import is_id
from services.pay.pages import authorisation
from services.pay.pages import service as journey
from services.pay.pages.countries import DEFAULT, countries, is_country
from services.pay.pages.rendering import PageFrame, SessionExpired, pages_of, set_frame
from services.pay.pages.session import PaySession
from services.pay.pages.validation import FieldError, check_form, typed_values
from services.pay.payments.authorisation import check_card as examine_card
from services.pay.payments.models import Payment
from services.pay.payments.states import AUTHORISING, Status
from services.pay.provider.base import CardProvider
from services.pay.provider.cards import BRAND_LABELS
from services.pay.receipts import delivery as receipts

router = APIRouter(route_class=PageRoute, include_in_schema=False)
log = get_logger("pay.pages")
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSP_REPORT_MAX_BYTES = 8192
#: The card page states the time by which the payment must be completed (§13.7), in UK time.
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class PayerVisit:
    """A payer on one of their payment's pages: the payment is in their session and any form post is theirs."""

    payment: Payment
    account: Account
    session: PaySession
    request: Request

    @property
    def provider(self) -> CardProvider:
        provider: CardProvider = self.request.app.state.providers[self.payment.provider]
        return provider

    def render(self, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        values = {"payment": self.payment, "account": self.account, **(context or {})}
        return pages_of(self.request).render(self.request, template, values, status_code)

    def go_to_current_page(self) -> Response:
        return pages_of(self.request).see_other(journey.page_for(self.payment, self.account))


async def _visit(payment_id: str, request: Request) -> PayerVisit:
    """The payment in the session, in its language; the CSRF check on form posts. Unknown payments are the 404
    page; a payment the session does not hold is the session-expired page, without the service's name."""
    state = request.app.state
    payment = await journey.load_payment(state.db, payment_id) if is_id(payment_id) else None
    if payment is None:
        raise PageError(status_code=404)
    pages = pages_of(request)
    session = pages.sessions.read(request)
    if session is None or not session.holds(payment.id):
        set_frame(request, PageFrame(payment.language))
        raise SessionExpired()
    account = await state.accounts.account(payment.service_id, payment.mode)
    set_frame(request, PageFrame(payment.language, account.service_name, payment.mode == "test"))
    if request.method not in SAFE_METHODS:
        await pages.csrf.verify(request)
    return PayerVisit(payment, account, session, request)


Payer = Annotated[PayerVisit, Depends(_visit)]


# --- the token exchange ----------------------------------------------------------------------------------------


async def _exchange(request: Request, token: str) -> Response:
    pages = pages_of(request)
    state = request.app.state
    exchanged = await journey.exchange(state.db, state.accounts, token, pages.sessions.read(request))
    payment, account = exchanged.payment, exchanged.account
    if exchanged.session is None:
        set_frame(request, PageFrame(payment.language))
        return pages.render(request, "pay/session_expired.html", {"link_used": True}, 400)
    response = pages.see_other(journey.page_for(payment, account))
    pages.sessions.write(response, exchanged.session)
    return response


@router.get("/secure/{token}")
async def secure_get(token: str, request: Request) -> Response:
    """The payer follows the payment's `next_url`."""
    return await _exchange(request, token)


@router.post("/secure")
async def secure_post(request: Request) -> Response:
    """The service posts the payer's browser to `next_url_post` (form field `chargeTokenId`)."""
    token = (await request.form()).get("chargeTokenId")
    if not isinstance(token, str) or not token:
        raise PageError(status_code=404)
    return await _exchange(request, token)


# --- card details ----------------------------------------------------------------------------------------------


def _prefilled(payment: Payment) -> dict[str, str]:
    """The form's first values: the create request's `prefilled_cardholder_details` and `email` (§5.1)."""
    details = payment.prefilled or {}
    address = details.get("billing_address") or {}
    country = address.get("country")
    return {
        "cardholderName": details.get("cardholder_name") or "",
        "addressLine1": address.get("line1") or "",
        "addressLine2": address.get("line2") or "",
        "addressCity": address.get("city") or "",
        "addressPostcode": address.get("postcode") or "",
        # §5.1: a missing or unknown code falls back to GB on the page.
        "addressCountry": country if isinstance(country, str) and is_country(country) else DEFAULT,
        "email": payment.email or "",
    }


async def _card_page(visit: PayerVisit, values: dict[str, str], errors: list[FieldError]) -> Response:
    pages, lang = pages_of(visit.request), visit.payment.language
    settings = visit.request.app.state.settings
    deadline = visit.payment.created_at + timedelta(seconds=settings.payment_lifetime_seconds)
    types = {kind for _brand, kind in visit.account.accepted_cards}
    messages = {error.field: pages.gettext(lang, error.message) for error in errors}
    context = {
        "values": values,
        "errors": messages,
        "error_list": [{"text": pages.gettext(lang, error.message), "href": f"#{error.field}"} for error in errors],
        "country_select": pages.country_select(lang, values.get("addressCountry", ""), messages.get("addressCountry")),
        "accepted_brands": sorted({BRAND_LABELS[brand] for brand, _type in visit.account.accepted_cards}),
        "accepted_types": types.pop() if len(types) == 1 else "debit_credit",
        "deadline": deadline.astimezone(UK).strftime("%H:%M"),
        "has_errors": bool(errors),
        # A set-up payment tells the payer their card is kept for the agreement's payments (§8).
        "agreement_description": await setup_description(visit.request.app.state.db, visit.payment),
    }
    return visit.render("pay/card_details.html", context)


def _outcome_page(visit: PayerVisit, outcome: str) -> Response:
    return visit.render("pay/outcome.html", {"outcome": outcome})


@router.get("/card_details/{payment_id}")
async def card_details_page(visit: Payer) -> Response:
    """The card details form; the outcome page once the payment is finished."""
    payment = visit.payment
    if payment.status in journey.ENTERING:
        return await _card_page(visit, _prefilled(payment), [])
    outcome = journey.outcome_of(payment)
    if outcome is None or visit.account.redirect_to_service_immediately_on_terminal_state:
        return visit.go_to_current_page()
    return _outcome_page(visit, outcome)


@router.post("/card_details/{payment_id}")
async def submit_card_details(visit: Payer) -> Response:
    """Check the card details on the server and authorise them."""
    if visit.payment.status not in journey.ENTERING:
        return visit.go_to_current_page()
    form = await visit.request.form()
    checked = check_form(form, visit.account, visit.provider, utcnow().date())
    if checked.accepted is None:
        return await _card_page(visit, typed_values(form), checked.errors)
    status = await authorisation.submit_card(
        visit.request.app.state, visit.payment, visit.account, checked.accepted, visit.provider
    )
    return await _current_page(visit, status)


async def _current_page(visit: PayerVisit, status: Status | None) -> Response:
    """Redirect to the page for the payment's status after a provider call: the status this request recorded, or,
    when it recorded none (another request moved the payment first), the status read again."""
    payment: Payment | None = visit.payment
    if status is None:
        payment = await journey.load_payment(visit.request.app.state.db, visit.payment.id)
    assert payment is not None
    return pages_of(visit.request).see_other(journey.page_for(payment, visit.account, status))


@router.get("/card_details/{payment_id}/auth_waiting")
async def auth_waiting(visit: Payer) -> Response:
    """Shown while the provider has not answered; "Check again" reloads it."""
    if visit.payment.status not in AUTHORISING:
        return visit.go_to_current_page()
    return visit.render("pay/auth_waiting.html")


@router.get("/card_details/{payment_id}/capture_waiting")
async def capture_waiting(visit: Payer) -> Response:
    """A confirmation is recorded in the confirm request itself, so there is never a capture to wait for: this
    sends the payer to the page for the payment's status."""
    return visit.go_to_current_page()


# --- 3-D Secure (the sandbox's simulated bank page) -------------------------------------------------------------


@router.get("/card_details/{payment_id}/3ds_required")
async def three_ds_required(visit: Payer) -> Response:
    """The test bank's challenge: authenticate or fail, no code to type (WCAG 3.3.8)."""
    if visit.payment.status != Status.AUTHORISATION_3DS_REQUIRED:
        return visit.go_to_current_page()
    return visit.render("pay/three_ds.html")


@router.post("/card_details/{payment_id}/3ds_handler")
async def three_ds_handler(visit: Payer) -> Response:
    """The payer's answer to the challenge; a repeated post just goes to the current page."""
    if visit.payment.status != Status.AUTHORISATION_3DS_REQUIRED:
        return visit.go_to_current_page()
    answer = (await visit.request.form()).get("outcome")
    status = await authorisation.submit_3ds(
        visit.request.app.state, visit.payment, visit.provider, authenticated=answer == "authenticate"
    )
    return await _current_page(visit, status)


# --- confirm, cancel, return ------------------------------------------------------------------------------------


@router.get("/card_details/{payment_id}/confirm")
async def confirm_page(visit: Payer) -> Response:
    """The summary the payer confirms."""
    if visit.payment.status != Status.AUTHORISATION_SUCCESS:
        return visit.go_to_current_page()
    country = countries().get((visit.payment.billing_address or {}).get("country") or "")
    return visit.render("pay/confirm.html", {"country_name": country.name(visit.payment.language) if country else ""})


@router.post("/card_details/{payment_id}/confirm")
async def confirm(visit: Payer, background: BackgroundTasks) -> Response:
    """Confirm: `success` (capture queued) or `capturable`, then back to the service."""
    state = visit.request.app.state
    payment, confirmed, emailing = await journey.confirm(
        state.db, visit.payment.id, confirmation_emails=state.settings.sends_confirmation_emails
    )
    if not confirmed:
        return pages_of(visit.request).see_other(journey.page_for(payment, visit.account))
    if not payment.delayed_capture:
        after_commit(background, visit.request, "capture_payment", payment.id)
    if emailing:
        after_commit(background, visit.request, receipts.TASK, payment.id, lane=receipts.LANE)
    return pages_of(visit.request).see_other(f"/return/{payment.id}")


@router.post("/card_details/{payment_id}/cancel")
async def cancel(visit: Payer, background: BackgroundTasks) -> Response:
    """The payer cancels: `failed` P0030."""
    payment, voiding = await journey.cancel(visit.request.app.state.db, visit.payment.id)
    if voiding:
        after_commit(background, visit.request, "void_payment", payment.id)
    return pages_of(visit.request).see_other(journey.page_for(payment, visit.account))


@router.get("/return/{payment_id}")
async def return_to_service(visit: Payer) -> Response:
    """303 to the service's `return_url`, unchanged: nothing is appended (§13.1)."""
    assert visit.payment.return_url is not None  # required for web payments (§5.1)
    return pages_of(visit.request).see_other(visit.payment.return_url)


# --- enhancements -----------------------------------------------------------------------------------------------


@router.post("/check_card/{payment_id}")
async def check_card(visit: Payer) -> Response:
    """The card's brand and type, and whether the account takes it, for a script on the card page (JSON)."""
    number = (await visit.request.form()).get("cardNo")
    digits = number.replace(" ", "") if isinstance(number, str) else ""
    checked = examine_card(visit.provider, visit.account, digits) if digits.isdigit() else None
    info = checked.info if checked is not None else None
    body: dict[str, Any] = {"accepted": checked is not None and checked.refusal is None}
    if info is not None:
        body |= {
            "brand": info.brand,
            "label": BRAND_LABELS[info.brand],
            "type": info.card_type,
            "prepaid": info.prepaid,
        }
    if not body["accepted"]:
        body["message"] = pages_of(visit.request).gettext(visit.payment.language, "This card type is not accepted")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/secure/csp-report")
async def csp_report(request: Request) -> Response:
    """Content-Security-Policy violation reports from payers' browsers, logged (the log mask applies)."""
    raw = (await request.body())[:CSP_REPORT_MAX_BYTES]
    log.warning("content security policy violation", report=raw.decode("utf-8", "replace"))
    return Response(status_code=204)
