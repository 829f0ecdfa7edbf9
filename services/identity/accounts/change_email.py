"""Changing the account's email address (spec §9.6): from the account page, in a session signed in with the second
factor (`Cl.Cm`), a new address proven with a 6-digit code sent to it. The account notice goes to the old address,
so an owner whose session was taken over learns of it where they still read their email. As at sign-up, an address
that already has an account is said so only once the code has proven the user holds it.

Relying parties see the new address in the `email` claim from their next sign-in; `sub` does not change.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.access import ACCOUNT, CHANGED, fully_signed_in, not_signed_in
from services.identity.accounts.forms import WRONG_CODE, Entered, check_email_form, email_code, enter_emailed_code
from services.identity.accounts.notices import notice_sender
from services.identity.accounts.notify import NotifyUnavailable
from services.identity.deps import Op
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.pages import PAGE_RESPONSES, field_error, go, page, valid_email

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
CHANGE_EMAIL = ACCOUNT + "/change-email"
CHECK_EMAIL = CHANGE_EMAIL + "/check-email"
PURPOSE = "change-email"
FORM = "identity/form.html"
LOCKED = "identity/locked.html"


def _email_form(value: str = "", errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Change your email address"),
        "paragraphs": [N_("We will send a code to your new email address to check it is yours.")],
        "fields": [
            {
                "name": "email",
                "label": N_("New email address"),
                "type": "email",
                "autocomplete": "email",
                "value": value,
            }
        ],
        "button": N_("Send the code"),
        "back_url": ACCOUNT,
        "errors": errors or [],
    }


@router.get(CHANGE_EMAIL)
async def change_email_page(request: Request, op: Op, db: DbSession) -> Response:
    """The new address."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    return await page(op, request, session, FORM, _email_form(session.journey.get("new_email", "")))


@router.post(CHANGE_EMAIL)
async def send_code(
    request: Request, op: Op, db: DbSession, _: CsrfProtected, email: Annotated[str, Form()] = ""
) -> Response:
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    address = valid_email(email)
    problem = None
    if address is None:
        problem = N_("Enter an email address in the correct format, like name@example.com")
    elif address == user.email:
        problem = N_("Enter a different email address: this is the one your account already uses")
    if problem is not None or address is None:
        return await page(op, request, session, FORM, _email_form(email, [field_error("email", problem or "")]), 400)
    if await op.counters.hit("send", address, op.code_sends) > op.code_sends.max_count:
        return await page(op, request, session, LOCKED, {"what": "sends"}, 429)
    try:
        await email_code(op, PURPOSE, address)
    except NotifyUnavailable:
        errors = [field_error("email", N_("We could not send your code. Try again later."))]
        return await page(op, request, session, FORM, _email_form(email, errors), 503)
    session.journey["new_email"] = address
    return await go(op, session, CHECK_EMAIL)


def _check_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    paragraphs = [N_("We have sent a 6-digit code to your email address. The code expires after 15 minutes.")]
    return check_email_form(paragraphs, CHANGE_EMAIL, errors)


@router.get(CHECK_EMAIL)
async def check_email_page(request: Request, op: Op, db: DbSession) -> Response:
    """Enter the code sent to the new address."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    if not session.journey.get("new_email"):
        return await go(op, session, CHANGE_EMAIL)
    return await page(op, request, session, FORM, _check_form())


@router.post(CHECK_EMAIL)
async def change_email(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    code: Annotated[str, Form()] = "",
) -> Response:
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    address = session.journey.get("new_email")
    if not address:
        return await go(op, session, CHANGE_EMAIL)
    entered = await enter_emailed_code(op, PURPOSE, address, code)
    if entered is Entered.locked:
        return await page(op, request, session, LOCKED, {"what": "code"}, 429)
    if entered is Entered.wrong:
        return await page(op, request, session, FORM, _check_form([field_error("code", WRONG_CODE)]), 400)
    taken = N_("There is already an account with this email address. Enter a different one.")
    if await users.by_email(db, address) is not None:
        session.journey.pop("new_email", None)
        return await page(op, request, session, FORM, _email_form(address, [field_error("email", taken)]), 400)
    old = user.email
    user.email = address
    try:
        await db.flush()
    except IntegrityError:  # registered meanwhile
        await db.rollback()
        session.journey.pop("new_email", None)
        return await page(op, request, session, FORM, _email_form(address, [field_error("email", taken)]), 400)
    record(db, "email_changed", user_id=user.id)
    session.journey.pop("new_email", None)
    session.journey[CHANGED] = "email"
    background.add_task(notice_sender(op, request, old, "email-changed"))
    return await go(op, session, ACCOUNT)
