"""Signing in (spec §9.2): email, then password (the session reaches `Cl`), then, when `Cl.Cm` is needed, a security
code from the authenticator app or a code texted to the account's phone. A wrong email gets the same answer as a
wrong password, so the pages never tell whether an address has an account. Each level change gives the session a
new cookie id.

A texted code is sent when the code page is first shown in the sign-in (not at every reload: the session remembers
when), and again on request from the "send the code again" page, a form, so that a link followed by a browser's
prefetch never sends a text."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import phones, totp
from services.identity.accounts import repository as users
from services.identity.accounts.models import SMS, User
from services.identity.accounts.passwords import is_breached, verify_password
from services.identity.accounts.texts import Entered, Sent, enter_code, text_code
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.oidc.authorization import CONTINUE, SECOND_FACTOR, SIGN_IN
from services.identity.pages import PAGE_RESPONSES, field_error, go, page, valid_email
from services.identity.sessions.breached import BREACHED_USER, CHANGE
from services.identity.sessions.steps import after_password, reach_level, reauthentication_refused
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
PASSWORD = SIGN_IN + "/password"
RESEND = SECOND_FACTOR + "/resend"
SMS_PURPOSE = "sign-in-phone"
#: Where someone who cannot use their second factor any more replaces it (`accounts/lost_factor.py`).
LOST_FACTOR = "/identity/recover"
LOCKED = "identity/locked.html"
WRONG = N_("Enter the correct email address and password")


def _email_form(value: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Enter your email address to sign in"),
        "fields": [
            {"name": "email", "label": N_("Email address"), "type": "email", "autocomplete": "email", "value": value}
        ],
        "links": [{"href": "/identity/create", "text": N_("Create an account")}],
        "errors": errors or [],
    }


@router.get(SIGN_IN)
async def sign_in_page(request: Request, op: Op) -> Response:
    """The first sign-in page: the email address."""
    session = await op.sessions.load_or_new(request)
    pending = session.pending or {}
    email = session.journey.get("email") or pending.get("login_hint") or ""
    return await page(op, request, session, "identity/form.html", _email_form(email))


@router.post(SIGN_IN)
async def sign_in(request: Request, op: Op, _: CsrfProtected, email: Annotated[str, Form()] = "") -> Response:
    session = await op.sessions.load_or_new(request)
    address = valid_email(email)
    if address is None:
        errors = [field_error("email", N_("Enter an email address in the correct format, like name@example.com"))]
        return await page(op, request, session, "identity/form.html", _email_form(email, errors), 400)
    session.journey = {"email": address}
    return await go(op, session, PASSWORD)


def _password_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Enter your password"),
        "fields": [
            {"name": "password", "label": N_("Password"), "type": "password", "autocomplete": "current-password"}
        ],
        "links": [{"href": SIGN_IN + "/forgotten-password", "text": N_("Forgotten your password?")}],
        "back_url": SIGN_IN,
        "errors": errors or [],
    }


@router.get(PASSWORD)
async def password_page(request: Request, op: Op) -> Response:
    """The second sign-in page: the password."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get("email"):
        return await go(op, session, SIGN_IN)
    return await page(op, request, session, "identity/form.html", _password_form())


@router.post(PASSWORD)
async def check_password(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    password: Annotated[str, Form()] = "",
) -> Response:
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("email")
    if not email:
        return await go(op, session, SIGN_IN)
    locked = partial(_locked, op, request, db, background, session, "password")
    if await op.counters.exceeded("password", email, op.lockout):
        return await locked()
    user = await users.by_email(db, email)
    matches, new_hash = await verify_password(user.password_hash if user else None, password)
    if user is None or not matches:
        failures = await op.counters.hit("password", email, op.lockout)
        if failures >= op.lockout.max_count:
            if user is not None:
                record(db, "account_locked", user_id=user.id, reason="password")
            return await locked()
        return await page(
            op, request, session, "identity/form.html", _password_form([field_error("password", WRONG)]), 400
        )
    await op.counters.clear("password", email)
    refused = await reauthentication_refused(op, db, background, session, user.id)
    if refused is not None:
        record(db, "reauthentication_refused", user_id=user.id, reason="another account")
        return refused
    if new_hash:
        await users.set_password_hash(db, user.id, new_hash)
    if is_breached(password, op.breached):
        session.journey = {"email": email, BREACHED_USER: str(user.id)}
        record(db, "breached_password_used", user_id=user.id)
        return await go(op, session, CHANGE)  # signed in, but no level until the password is changed (§9.3)
    await reach_level(op, session, user.id, 1)
    record(db, "signed_in", user_id=user.id, level="Cl")
    return await go(op, session, after_password(session))


def _code_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Enter the security code from your authenticator app"),
        "paragraphs": [N_("Open the authenticator app you set up for this account to get your 6-digit code.")],
        "fields": [CODE_FIELD],
        "links": [{"href": LOST_FACTOR, "text": N_("I cannot use my authenticator app")}],
        "errors": errors or [],
    }


def _text_form(user: User, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    assert user.phone_number is not None
    return {
        "heading": N_("Check your phone"),
        "paragraphs": [N_("We have texted you a 6-digit security code. The code expires after 15 minutes.")],
        "ending": phones.ending(user.phone_number),
        "fields": [CODE_FIELD],
        "links": [
            {"href": RESEND, "text": N_("Send the code again")},
            {"href": LOST_FACTOR, "text": N_("I no longer have access to this phone")},
        ],
        "errors": errors or [],
    }


CODE_FIELD = {
    "name": "code",
    "label": N_("Security code"),
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "classes": "govuk-input--width-5",
}
NOT_SENT = N_("We could not send your code. Try again later.")


async def _locked(
    op: Provider, request: Request, db: AsyncSession, background: BackgroundTasks, session: BrowserSession, what: str
) -> Response:
    """The answer to too many failures: the locked page, or, while a re-authentication waits, the end of the session
    and `login_required` at the relying party (spec §5.3)."""
    refused = await reauthentication_refused(op, db, background, session, None)
    if refused is not None:
        return refused
    return await page(op, request, session, LOCKED, {"what": what}, 429)


async def _signing_in(op: Provider, request: Request, db: AsyncSession) -> tuple[BrowserSession, User | None]:
    session = await op.sessions.load_or_new(request)
    return session, (await users.by_id(db, session.user_id) if session.user_id else None)


async def _text(op: Provider, request: Request, session: BrowserSession, user: User) -> Response | None:
    """Text a sign-in code; None when it went, else the page that says why not."""
    assert user.phone_number is not None
    sent = await text_code(op, purpose=SMS_PURPOSE, subject=str(user.id), account=user.email, phone=user.phone_number)
    if sent is Sent.too_many:
        return await page(op, request, session, LOCKED, {"what": "sends"}, 429)
    if sent is Sent.unavailable:
        form = {**_resend_form(user), "errors": [field_error("send", NOT_SENT)]}
        return await page(op, request, session, "identity/phone_code.html", form, 503)
    session.journey["texted_at"] = time.time()
    return None


@router.get(SECOND_FACTOR)
async def code_page(request: Request, op: Op, db: DbSession) -> Response:
    """The second factor: a code from the authenticator app, or texted to the phone (the session reaches `Cl.Cm`)."""
    session, user = await _signing_in(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    if user.second_factor != SMS:
        return await page(op, request, session, "identity/form.html", _code_form())
    if time.time() - session.journey.get("texted_at", 0) >= op.settings.code_ttl_seconds:
        refused = await _text(op, request, session, user)
        if refused is not None:
            return refused
    return await page(op, request, session, "identity/phone_code.html", _text_form(user))


@router.post(SECOND_FACTOR)
async def check_code(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    code: Annotated[str, Form()] = "",
) -> Response:
    session, user = await _signing_in(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    locked = partial(_locked, op, request, db, background, session, "code")
    subject = str(user.id)
    if user.second_factor == SMS:
        entered = await enter_code(op, purpose=SMS_PURPOSE, subject=subject, code=code, counted_as=("code", subject))
        if entered is Entered.locked:
            record(db, "account_locked", user_id=user.id, reason="security code")
            return await locked()
        if entered is not Entered.ok:
            message = (
                N_("The code you entered is not correct")
                if entered is Entered.wrong
                else N_("The code has expired or was entered wrongly too many times: send a new code")
            )
            return await page(
                op, request, session, "identity/phone_code.html", _text_form(user, [field_error("code", message)]), 400
            )
        session.journey.pop("texted_at", None)
        return await _second_factor_proven(op, db, session, user)
    if await op.counters.exceeded("code", subject, op.code_failures):
        return await locked()
    counter = totp.verify(user.totp_secret or "", code, time.time(), user.totp_last_counter)
    if counter is None or not await users.use_totp_step(db, user.id, counter):
        if await op.counters.hit("code", subject, op.code_failures) >= op.code_failures.max_count:
            record(db, "account_locked", user_id=user.id, reason="security code")
            return await locked()
        error = field_error("code", N_("The security code you entered is not correct, or has already been used"))
        return await page(op, request, session, "identity/form.html", _code_form([error]), 400)
    await op.counters.clear("code", subject)
    return await _second_factor_proven(op, db, session, user)


async def _second_factor_proven(op: Provider, db: AsyncSession, session: BrowserSession, user: User) -> Response:
    await reach_level(op, session, user.id, 2)
    record(db, "signed_in", user_id=user.id, level="Cl.Cm")
    return await go(op, session, CONTINUE)


def _resend_form(user: User) -> dict[str, Any]:
    assert user.phone_number is not None
    return {
        "heading": N_("Get a new security code"),
        "paragraphs": [N_("We will text a new code to your phone. The last code you were sent will stop working.")],
        "ending": phones.ending(user.phone_number),
        "button": N_("Send a new code"),
        "back_url": SECOND_FACTOR,
    }


@router.get(RESEND)
async def resend_page(request: Request, op: Op, db: DbSession) -> Response:
    """Ask for a new texted code."""
    session, user = await _signing_in(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    if user.second_factor != SMS:
        return await go(op, session, SECOND_FACTOR)
    return await page(op, request, session, "identity/phone_code.html", _resend_form(user))


@router.post(RESEND)
async def resend(request: Request, op: Op, db: DbSession, _: CsrfProtected) -> Response:
    session, user = await _signing_in(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    if user.second_factor != SMS:
        return await go(op, session, SECOND_FACTOR)
    refused = await _text(op, request, session, user)
    return refused if refused is not None else await go(op, session, SECOND_FACTOR)
