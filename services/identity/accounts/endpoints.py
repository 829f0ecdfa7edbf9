"""Creating an account (spec §9.1): an email address proven with an emailed code, a password, and a second factor
proven with a code (an authenticator app here, text messages in `enrolment.py`); the account is created signed in at
`Cl.Cm`, its owner gets the account notice, and the waiting authorization request goes on.

Nothing is stored until the last step: the journey lives in the browser session (the password only as its Argon2id
hash). If the address already has an account, the user learns it only after proving they own the address.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.access import CHANGE_MESSAGES, CHANGED
from services.identity.accounts.codes import CodeCheck
from services.identity.accounts.enrolment import Enrolment, add_pages
from services.identity.accounts.models import SMS, User
from services.identity.accounts.notices import notice_sender
from services.identity.accounts.notify import NotifyUnavailable
from services.identity.accounts.passwords import hash_password, normalise, problem_with
from services.identity.accounts.proven_identity import long_date
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.oidc.authorization import CONTINUE, SIGN_IN
from services.identity.pages import PAGE_RESPONSES, field_error, go, page, valid_email
from services.identity.proving.models import IdentityRecord
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
CREATE = "/identity/create"
CHECK_EMAIL = CREATE + "/check-email"
PASSWORD = CREATE + "/password"
CHOOSE = CREATE + "/second-factor"
FORM = "identity/form.html"


def _email_form(value: str = "", errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Create an account"),
        "paragraphs": [N_("We will send a code to your email address to check it is yours.")],
        "fields": [
            {"name": "email", "label": N_("Email address"), "type": "email", "autocomplete": "email", "value": value}
        ],
        "back_url": SIGN_IN,
        "errors": errors or [],
    }


@router.get(CREATE)
async def create_page(request: Request, op: Op) -> Response:
    """Start creating an account: the email address."""
    session = await op.sessions.load_or_new(request)
    return await page(op, request, session, FORM, _email_form(session.journey.get("create_email", "")))


@router.post(CREATE)
async def send_email_code(request: Request, op: Op, _: CsrfProtected, email: Annotated[str, Form()] = "") -> Response:
    session = await op.sessions.load_or_new(request)
    address = valid_email(email)
    if address is None:
        errors = [field_error("email", N_("Enter an email address in the correct format, like name@example.com"))]
        return await page(op, request, session, FORM, _email_form(email, errors), 400)
    if await op.counters.hit("send", address, op.code_sends) > op.code_sends.max_count:
        return await page(op, request, session, "identity/locked.html", {"what": "sends"}, 429)
    code = await op.codes.issue("create", address)
    try:
        await op.notify.send_email_code(
            address, {"code": code, "expiry_minutes": str(op.settings.code_ttl_seconds // 60)}, "create-account"
        )
    except NotifyUnavailable:
        errors = [field_error("email", N_("We could not send your code. Try again later."))]
        return await page(op, request, session, FORM, _email_form(email, errors), 503)
    session.journey = {"create_email": address}
    return await go(op, session, CHECK_EMAIL)


def _check_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Check your email"),
        "paragraphs": [N_("We have sent a 6-digit code to your email address. The code expires after 15 minutes.")],
        "fields": [
            {
                "name": "code",
                "label": N_("Enter the 6-digit code"),
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "classes": "govuk-input--width-5",
            }
        ],
        "links": [{"href": CREATE, "text": N_("Send the code again")}],
        "back_url": CREATE,
        "errors": errors or [],
    }


@router.get(CHECK_EMAIL)
async def check_email_page(request: Request, op: Op) -> Response:
    """Enter the code emailed to the address."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get("create_email"):
        return await go(op, session, CREATE)
    return await page(op, request, session, FORM, _check_form())


@router.post(CHECK_EMAIL)
async def check_email(
    request: Request, op: Op, db: DbSession, _: CsrfProtected, code: Annotated[str, Form()] = ""
) -> Response:
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("create_email")
    if not email:
        return await go(op, session, CREATE)
    if await op.counters.exceeded("email-code", email, op.code_failures):
        return await page(op, request, session, "identity/locked.html", {"what": "code"}, 429)
    outcome = await op.codes.check("create", email, code)
    if outcome is not CodeCheck.ok:
        await op.counters.hit("email-code", email, op.code_failures)
        message = (
            N_("The code you entered is not correct")
            if outcome is CodeCheck.wrong
            else N_("The code has expired or was entered wrongly too many times: send a new code")
        )
        return await page(op, request, session, FORM, _check_form([field_error("code", message)]), 400)
    if await users.by_email(db, email) is not None:
        session.journey = {"email": email}
        return await page(op, request, session, "identity/account_exists.html")
    session.journey["email_verified"] = True
    return await go(op, session, PASSWORD)


def _password_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Create your password"),
        "paragraphs": [
            N_("Your password must be at least 8 characters. It can include spaces."),
            N_("Do not use a password you use anywhere else, or one that is easy to guess."),
        ],
        "fields": [
            {"name": "password", "label": N_("Password"), "type": "password", "autocomplete": "new-password"},
            {
                "name": "confirm",
                "label": N_("Confirm your password"),
                "type": "password",
                "autocomplete": "new-password",
            },
        ],
        "errors": errors or [],
    }


@router.get(PASSWORD)
async def password_page(request: Request, op: Op) -> Response:
    """Choose a password."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get("email_verified"):
        return await go(op, session, CREATE)
    return await page(op, request, session, FORM, _password_form())


@router.post(PASSWORD)
async def set_password(
    request: Request,
    op: Op,
    _: CsrfProtected,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    session = await op.sessions.load_or_new(request)
    email = session.journey.get("create_email")
    if not email or not session.journey.get("email_verified"):
        return await go(op, session, CREATE)
    problem = problem_with(password, email, op.breached)
    if problem is None and normalise(password) != normalise(confirm):
        errors = [field_error("confirm", N_("The passwords you entered do not match"))]
        return await page(op, request, session, FORM, _password_form(errors), 400)
    if problem is not None:
        return await page(op, request, session, FORM, _password_form([field_error("password", problem)]), 400)
    session.journey.update(password_hash=await hash_password(password))
    return await go(op, session, CHOOSE)


async def finish_creation(
    op: Provider,
    request: Request,
    db: AsyncSession,
    background: BackgroundTasks,
    session: BrowserSession,
    factor: dict[str, Any],
) -> Response:
    """The second factor is proven: store the account (an address registered meanwhile wins), sign in at `Cl.Cm`,
    and send the account notice."""
    journey = session.journey
    user = User(email=journey["create_email"], password_hash=journey["password_hash"], **factor)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        session.journey = {"email": user.email}
        return await page(op, request, session, "identity/account_exists.html")
    record(db, "account_created", user_id=user.id, second_factor=user.second_factor)
    session.signed_in(str(user.id), 2, time.time())
    await op.sessions.rotate(session)
    background.add_task(notice_sender(op, request, user.email, "account-created"))
    return await go(op, session, CONTINUE)


def second_factor_name(user: User) -> str:
    return N_("Text message") if user.second_factor == SMS else N_("Authenticator app")


@router.get("/identity/account")
async def account(request: Request, op: Op, db: DbSession) -> Response:
    """The signed-in user's account (a full sign-in, `Cl.Cm`, is needed to see it)."""
    session = await op.sessions.load_or_new(request)
    user = await users.by_id(db, session.user_id) if session.user_id else None
    if user is None:
        return await go(op, session, SIGN_IN)
    if session.level < 2:
        return await go(op, session, "/identity/sign-in/security-code")
    changed = CHANGE_MESSAGES.get(session.journey.pop(CHANGED, ""))  # shown once, after a change
    proven = await db.get(IdentityRecord, user.id)
    checked = long_date(proven.verified_at, request.app.state.pages.language(request)) if proven else None
    context = {"email": user.email, "factor": second_factor_name(user), "changed": changed, "proven": checked}
    return await page(op, request, session, "identity/account.html", context)


def _creating(session: BrowserSession) -> str | None:
    """The address being registered, once it is proven and the password chosen."""
    journey = session.journey
    ready = journey.get("email_verified") and journey.get("password_hash")
    return journey.get("create_email") if ready else None


add_pages(
    Enrolment(
        prefix=CREATE,
        start=CREATE,
        email_of=_creating,
        complete=finish_creation,
        purpose="create-phone",
    ),
    back=PASSWORD,
)
