"""A forgotten password (spec §9.6, first bullet): the email address, a 6-digit code emailed to it, a new password
(the rules of §9.3), then the password is changed, the wrong-password lockout cleared, the account notice emailed,
and every other session of the user ended, with back-channel logout for the clients those sessions signed in to.
The browser that reset the password is signed in at `Cl` and goes on with the waiting authorization request; `Cl.Cm`
still needs the second factor.

No account enumeration: an address with no account gets the same pages, in the same time, as one with an account.
The code is sent after the answer (a background task), and only when the account exists; sends are counted for
every address, and a wrong code gets one message whether a code was sent or not. The code goes into the email and
nowhere else.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.logging import get_logger
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.forms import (
    NEW_PASSWORD_FIELDS,
    WRONG_CODE,
    Entered,
    check_email_form,
    email_code,
    enter_emailed_code,
    new_password_error,
)
from services.identity.accounts.notices import notice_sender
from services.identity.accounts.notify import NotifyUnavailable
from services.identity.accounts.passwords import hash_password
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.logout import service as logout
from services.identity.oidc.authorization import CONTINUE, SIGN_IN
from services.identity.pages import PAGE_RESPONSES, field_error, go, page, valid_email

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
log = get_logger("identity.recovery")
RESET = SIGN_IN + "/forgotten-password"
CHECK_EMAIL = RESET + "/check-email"
NEW_PASSWORD = RESET + "/new-password"
PURPOSE = "reset-password"
FORM = "identity/form.html"
LOCKED = "identity/locked.html"


def _email_form(value: str = "", errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Reset your password"),
        "paragraphs": [N_("If this email address has an account, we will send a 6-digit code to it.")],
        "fields": [
            {"name": "email", "label": N_("Email address"), "type": "email", "autocomplete": "email", "value": value}
        ],
        "button": N_("Send the code"),
        "back_url": SIGN_IN + "/password",
        "errors": errors or [],
    }


@router.get(RESET)
async def reset_page(request: Request, op: Op) -> Response:
    """Start resetting a forgotten password: the email address."""
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("reset_email") or session.journey.get("email") or ""
    return await page(op, request, session, FORM, _email_form(email))


@router.post(RESET)
async def send_reset_code(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    email: Annotated[str, Form()] = "",
) -> Response:
    session = await op.sessions.load_or_new(request)
    address = valid_email(email)
    if address is None:
        errors = [field_error("email", N_("Enter an email address in the correct format, like name@example.com"))]
        return await page(op, request, session, FORM, _email_form(email, errors), 400)
    if await op.counters.hit("send", address, op.code_sends) > op.code_sends.max_count:
        return await page(op, request, session, LOCKED, {"what": "sends"}, 429)
    if await users.by_email(db, address) is not None:
        background.add_task(_send_code, op, address)
    session.journey = {"reset_email": address}
    return await go(op, session, CHECK_EMAIL)


async def _send_code(op: Provider, email: str) -> None:
    """Email a new code (voiding the last one). Runs after the answer; a send notify refuses is logged by the
    client, and the user asks again from the code page."""
    try:
        await email_code(op, PURPOSE, email)
    except NotifyUnavailable:
        log.warning("identity.reset_code_not_sent")


def _check_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    paragraphs = [
        N_("If this email address has an account, we have sent a 6-digit code to it."),
        N_("The code expires after 15 minutes."),
    ]
    return check_email_form(paragraphs, RESET, errors)


@router.get(CHECK_EMAIL)
async def check_email_page(request: Request, op: Op) -> Response:
    """Enter the code emailed for the reset."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get("reset_email"):
        return await go(op, session, RESET)
    return await page(op, request, session, FORM, _check_form())


@router.post(CHECK_EMAIL)
async def check_email(request: Request, op: Op, _: CsrfProtected, code: Annotated[str, Form()] = "") -> Response:
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("reset_email")
    if not email:
        return await go(op, session, RESET)
    entered = await enter_emailed_code(op, PURPOSE, email, code)
    if entered is Entered.locked:
        return await page(op, request, session, LOCKED, {"what": "code"}, 429)
    if entered is Entered.wrong:
        # One message whether the code was wrong or none was sent: the page must not tell which addresses exist.
        return await page(op, request, session, FORM, _check_form([field_error("code", WRONG_CODE)]), 400)
    session.journey["reset_verified"] = True
    return await go(op, session, NEW_PASSWORD)


def _password_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Create a new password"),
        "paragraphs": [
            N_("Your password must be at least 8 characters. It can include spaces."),
            N_("Do not use a password you use anywhere else, or one that is easy to guess."),
            N_("When you change your password, you will be signed out everywhere else you are signed in."),
        ],
        "fields": NEW_PASSWORD_FIELDS,
        "errors": errors or [],
    }


@router.get(NEW_PASSWORD)
async def new_password_page(request: Request, op: Op) -> Response:
    """Choose the new password."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get("reset_verified"):
        return await go(op, session, RESET)
    return await page(op, request, session, FORM, _password_form())


@router.post(NEW_PASSWORD)
async def reset_password(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("reset_email")
    user = await users.by_email(db, email) if email and session.journey.get("reset_verified") else None
    if email is None or user is None:
        session.journey = {}
        return await go(op, session, RESET)
    error = new_password_error(password, confirm, email, op.breached)
    if error is not None:
        return await page(op, request, session, FORM, _password_form([error]), 400)
    await users.set_password_hash(db, user.id, await hash_password(password))
    await op.counters.clear("password", email)
    record(db, "password_reset", user_id=user.id)
    session.journey = {}
    session.signed_in(str(user.id), 1, time.time())
    await op.sessions.rotate(session)
    queued = await logout.end_other_sessions(op, db, session, "password_reset")
    background.add_task(logout.enqueue, op, queued)
    background.add_task(notice_sender(op, request, email, "password-reset"))
    return await go(op, session, CONTINUE)
