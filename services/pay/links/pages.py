"""The public pages of a payment link (pay spec §15 B4), at `/link/{service_slug}/{slug}` on the pages' origin:
the form, the start of the payment (then the ordinary payment pages), and the confirmation page the payment comes
back to. Routes read the visit and shape the page or the 303; the rules live in `journey`.

The pages are in the link's language (fixed, like a payment's) with the service's name and, for a test account,
the test banner. The form is CSRF-protected with the payer's `pay_session`, which the form page starts when the
browser has none; the payment then joins the session when its `next_url` is exchanged, and the confirmation page
shows a payment only to the session that holds it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from gaap.pages import PageError, PageRoute
from services.pay.accounts.models import Account
from services.pay.auth import account_of
from services.pay.deps import origins, token_secret
from services.pay.ids import is_id
from services.pay.links import journey
from services.pay.links import repository as repo
from services.pay.links.models import PaymentLink
from services.pay.links.validation import is_slug
from services.pay.pages import service as payment_pages
from services.pay.pages.rendering import PageFrame, SessionExpired, pages_of, pounds, set_frame

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ADDRESS = "/link/{service_slug}/{slug}"


async def _link(request: Request, service_slug: str, slug: str) -> tuple[PaymentLink, Account]:
    """The link at this address and its account, with the page frame set (language, service, test banner)."""
    link = None
    if is_slug(service_slug) and is_slug(slug):
        async with request.app.state.db.read_session() as session:
            link = await repo.by_address(session, service_slug, slug)
            if link is not None:
                session.expunge(link)
    if link is None:
        raise PageError(status_code=404)
    account = await account_of(request.app.state.db, link.service_id, link.mode)
    set_frame(request, PageFrame(link.language, account.service_name, link.mode == "test"))
    return link, account


def _unavailable(request: Request, link: PaymentLink, account: Account) -> Response | None:
    """The "no longer available" page for an archived link; the "not available now" page while the account cannot
    take payments (switched off, or a live account without a provider)."""
    if link.archived:
        return pages_of(request).render(request, "pay/link_unavailable.html", {"archived": True}, 410)
    if account.disabled or not account.service_active or account.provider is None:
        return pages_of(request).render(request, "pay/link_unavailable.html", {"archived": False}, 503)
    return None


def _form_page(request: Request, link: PaymentLink, form: journey.PayerForm) -> Response:
    pages = pages_of(request)
    lang = link.language
    errors = {e.field: pages.gettext(lang, e.message, **e.values) for e in form.errors}
    low, high = journey.amount_limits(link)
    if link.min_amount and link.max_amount:
        hint = pages.gettext(lang, journey.AMOUNT_BETWEEN, low=pounds(low), high=pounds(high))
    elif link.min_amount:
        hint = pages.gettext(lang, journey.AMOUNT_TOO_LOW, amount=pounds(low))
    elif link.max_amount:
        hint = pages.gettext(lang, journey.AMOUNT_TOO_HIGH, amount=pounds(high))
    else:
        hint = ""
    context: dict[str, Any] = {
        "link": link,
        "form": form,
        "errors": errors,
        "error_list": [{"text": errors[e.field], "href": f"#{e.field}"} for e in form.errors],
        "amount_hint": hint,
        "has_errors": bool(form.errors),
    }
    session, fresh = pages.sessions.begin(request)
    response = pages.render(request, "pay/link.html", context)
    if fresh:
        pages.sessions.write(response, session)
    return response


@router.get(ADDRESS)
async def link_page(service_slug: str, slug: str, request: Request) -> Response:
    """What the link is for, and what the payer must enter; `?reference=` and `?amount=<pence>` prefill it."""
    link, account = await _link(request, service_slug, slug)
    return _unavailable(request, link, account) or _form_page(
        request, link, journey.prefilled(link, request.query_params)
    )


@router.post(ADDRESS)
async def start_payment(service_slug: str, slug: str, request: Request) -> Response:
    """Check the form, then create the payment and send the payer to its card page."""
    link, account = await _link(request, service_slug, slug)
    pages = pages_of(request)
    await pages.csrf.verify(request)
    closed = _unavailable(request, link, account)
    if closed is not None:
        return closed
    form = journey.check(link, await request.form())
    if form.wanted is None:
        return _form_page(request, link, form)
    next_url = await journey.start_payment(
        request.app.state.db, link, account, form.wanted, origins(request), token_secret(request)
    )
    return pages.see_other(next_url)


@router.get(ADDRESS + "/complete/{link_payment_id}")
async def complete_page(service_slug: str, slug: str, link_payment_id: str, request: Request) -> Response:
    """Where the link's payment comes back to: paid, or not paid with a way to try again. Only the browser that
    paid sees it; a payment the payer has not finished sends them back to its page."""
    link, account = await _link(request, service_slug, slug)
    db = request.app.state.db
    payment_id = None
    if is_id(link_payment_id):
        async with db.read_session() as session:
            made = await repo.link_payment(session, link_payment_id)
            payment_id = made.payment_id if made is not None and made.link_id == link.id else None
    payment = await payment_pages.load_payment(db, payment_id) if payment_id else None
    if payment is None:
        raise PageError(status_code=404)
    browser = pages_of(request).sessions.read(request)
    if browser is None or not browser.holds(payment.id):
        raise SessionExpired()
    outcome = payment_pages.outcome_of(payment)
    if outcome is None:
        return pages_of(request).see_other(payment_pages.page_for(payment, account))
    context = {"link": link, "payment": payment, "paid": outcome == "paid"}
    return pages_of(request).render(request, "pay/link_complete.html", context)
