"""Setting up a second factor (spec §9.1, §9.6): choose an authenticator app or text messages, then prove it with a
code. The same pages serve two journeys, each under its own path: creating an account (`/identity/create/…`) and
replacing a lost second factor (`/identity/recover/…`, `lost_factor.py`). A journey says who is enrolling and what
happens once the factor is proven (`Enrolment`).

A mobile number is normalised to E.164 in the allowed countries (`phones.py`) and proven with a texted code; the
number is stored only once the code is right. The TOTP secret is made when the app is chosen, kept in the browser
session, and stored once the app's code is right.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import phones, totp
from services.identity.accounts.models import APP, SMS
from services.identity.accounts.texts import Entered, Sent, enter_code, text_code
from services.identity.deps import Op, Provider
from services.identity.i18n import N_
from services.identity.pages import PAGE_RESPONSES, field_error, go, page
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
TOTP_ISSUER = "GaaP"
CODE_FIELD = {
    "name": "code",
    "label": N_("Enter the 6-digit code"),
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "classes": "govuk-input--width-5",
}
WRONG_CODE = N_("The code you entered is not correct")
NO_CODE = N_("The code has expired or was entered wrongly too many times: send a new code")
NOT_SENT = N_("We could not send your code. Try again later.")
Errors = list[dict[str, str]]
#: What happens once the factor is proven: given the factor's columns (`second_factor`, `totp_secret`, ...).
Complete = Callable[
    [Provider, Request, AsyncSession, BackgroundTasks, BrowserSession, dict[str, Any]], Awaitable[Response]
]


@dataclass(frozen=True)
class Enrolment:
    #: The journey's pages: `{prefix}/second-factor`, `/authenticator-app`, `/phone`, `/check-phone`.
    prefix: str
    #: Where someone who is not at this step yet is sent.
    start: str
    #: The email address of the account being set up, or None when the journey is not at this step.
    email_of: Callable[[BrowserSession], str | None]
    complete: Complete
    #: The texted code's purpose (`reference` `identity:<purpose>:<uuid>`).
    purpose: str

    @property
    def choose(self) -> str:
        return self.prefix + "/second-factor"

    @property
    def app(self) -> str:
        return self.prefix + "/authenticator-app"

    @property
    def phone(self) -> str:
        return self.prefix + "/phone"

    @property
    def check_phone(self) -> str:
        return self.prefix + "/check-phone"


def _choose_form(back: str, errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("How do you want to get security codes?"),
        "paragraphs": [N_("You will need a security code each time you sign in, as well as your password.")],
        "questions": [{"name": "factor", "legend": N_("Choose how to get security codes"), "options": [
            {"value": APP, "text": N_("Authenticator app for a phone or tablet")},
            {"value": SMS, "text": N_("Text message to a mobile phone")}]}],
        "back_url": back,
        "errors": errors or [],
    }  # fmt: skip


def _app_form(secret: str, email: str, errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Set up an authenticator app"),
        "paragraphs": [N_("You will use the app to get a security code each time you sign in.")],
        "qr_svg": totp.qr_svg(totp.provisioning_uri(secret, email, TOTP_ISSUER)),
        "secret": totp.grouped(secret),
        "fields": [{**CODE_FIELD, "label": N_("Enter the 6-digit security code shown in the app")}],
        "errors": errors or [],
    }


def _phone_form(back: str, value: str = "", errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Enter your mobile phone number"),
        "paragraphs": [N_("We will text a security code to this number each time you sign in.")],
        "fields": [{"name": "phone_number", "label": N_("UK mobile phone number"), "type": "tel",
                    "autocomplete": "tel", "value": value, "hint": N_("For example, 07700 900982"),
                    "classes": "govuk-input--width-20"}],
        "back_url": back,
        "errors": errors or [],
    }  # fmt: skip


def _check_phone_form(flow: Enrolment, phone: str, errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Check your phone"),
        "paragraphs": [N_("We have texted you a 6-digit code. The code expires after 15 minutes.")],
        "ending": phones.ending(phone),
        "fields": [CODE_FIELD],
        "links": [{"href": flow.phone, "text": N_("Send the code again")},
                  {"href": flow.choose, "text": N_("Use an authenticator app instead")}],
        "back_url": flow.phone,
        "errors": errors or [],
    }  # fmt: skip


def add_pages(flow: Enrolment, back: str) -> None:
    """The four pages of `flow`, on this module's router; `back` is the page before the choice."""

    async def ready(op: Provider, request: Request) -> tuple[BrowserSession, str | None]:
        session = await op.sessions.load_or_new(request)
        return session, flow.email_of(session)

    @router.get(flow.choose, name=f"{flow.purpose}-choose")
    async def choose_page(request: Request, op: Op) -> Response:
        """Choose the second factor."""
        session, email = await ready(op, request)
        if email is None:
            return await go(op, session, flow.start)
        return await page(op, request, session, "identity/choice.html", _choose_form(back))

    @router.post(flow.choose, name=f"{flow.purpose}-chosen")
    async def choose(request: Request, op: Op, _: CsrfProtected, factor: Annotated[str, Form()] = "") -> Response:
        session, email = await ready(op, request)
        if email is None:
            return await go(op, session, flow.start)
        if factor == APP:
            session.journey.setdefault("totp_secret", totp.new_secret())
            return await go(op, session, flow.app)
        if factor == SMS:
            return await go(op, session, flow.phone)
        errors = [field_error("factor", N_("Select how you want to get security codes"))]
        return await page(op, request, session, "identity/choice.html", _choose_form(back, errors), 400)

    @router.get(flow.app, name=f"{flow.purpose}-app")
    async def app_page(request: Request, op: Op) -> Response:
        """Set up an authenticator app: a QR code (and the secret as text)."""
        session, email = await ready(op, request)
        secret = session.journey.get("totp_secret")
        if email is None or not secret:
            return await go(op, session, flow.choose if email else flow.start)
        return await page(op, request, session, "identity/authenticator.html", _app_form(secret, email))

    @router.post(flow.app, name=f"{flow.purpose}-app-proven")
    async def prove_app(
        request: Request,
        op: Op,
        db: DbSession,
        background: BackgroundTasks,
        _: CsrfProtected,
        code: Annotated[str, Form()] = "",
    ) -> Response:
        session, email = await ready(op, request)
        secret = session.journey.get("totp_secret")
        if email is None or not secret:
            return await go(op, session, flow.choose if email else flow.start)
        counter = totp.verify(secret, code, time.time(), None)
        if counter is None:
            errors = [field_error("code", N_("The security code you entered is not correct"))]
            form = _app_form(secret, email, errors)
            return await page(op, request, session, "identity/authenticator.html", form, 400)
        factor = {"second_factor": APP, "totp_secret": secret, "totp_last_counter": counter, "phone_number": None}
        return await flow.complete(op, request, db, background, session, factor)

    @router.get(flow.phone, name=f"{flow.purpose}-phone")
    async def phone_page(request: Request, op: Op) -> Response:
        """The mobile number to text codes to."""
        session, email = await ready(op, request)
        if email is None:
            return await go(op, session, flow.start)
        typed = session.journey.get("phone_typed", "")
        return await page(op, request, session, "identity/form.html", _phone_form(flow.choose, typed))

    @router.post(flow.phone, name=f"{flow.purpose}-phone-sent")
    async def send_to_phone(
        request: Request, op: Op, _: CsrfProtected, phone_number: Annotated[str, Form()] = ""
    ) -> Response:
        session, email = await ready(op, request)
        if email is None:
            return await go(op, session, flow.start)
        try:
            phone = phones.normalise(phone_number, op.settings.sms_country_codes)
        except phones.PhoneProblem as problem:
            form = _phone_form(flow.choose, phone_number, [field_error("phone_number", problem.message)])
            return await page(op, request, session, "identity/form.html", form, 400)
        sent = await text_code(op, purpose=flow.purpose, subject=email, account=email, phone=phone)
        if sent is Sent.too_many:
            return await page(op, request, session, "identity/locked.html", {"what": "sends"}, 429)
        if sent is Sent.unavailable:
            form = _phone_form(flow.choose, phone_number, [field_error("phone_number", NOT_SENT)])
            return await page(op, request, session, "identity/form.html", form, 503)
        session.journey.update(phone=phone, phone_typed=phone_number.strip())
        return await go(op, session, flow.check_phone)

    @router.get(flow.check_phone, name=f"{flow.purpose}-check-phone")
    async def check_phone_page(request: Request, op: Op) -> Response:
        """Enter the code texted to the number."""
        session, email = await ready(op, request)
        phone = session.journey.get("phone")
        if email is None or not phone:
            return await go(op, session, flow.phone if email else flow.start)
        return await page(op, request, session, "identity/phone_code.html", _check_phone_form(flow, phone))

    @router.post(flow.check_phone, name=f"{flow.purpose}-phone-proven")
    async def prove_phone(
        request: Request,
        op: Op,
        db: DbSession,
        background: BackgroundTasks,
        _: CsrfProtected,
        code: Annotated[str, Form()] = "",
    ) -> Response:
        session, email = await ready(op, request)
        phone = session.journey.get("phone")
        if email is None or not phone:
            return await go(op, session, flow.phone if email else flow.start)
        # Wrong codes count against the account's email address, as every emailed code's do (6 per account).
        entered = await enter_code(op, purpose=flow.purpose, subject=email, code=code, counted_as=("email-code", email))
        if entered is Entered.locked:
            return await page(op, request, session, "identity/locked.html", {"what": "code"}, 429)
        if entered is not Entered.ok:
            message = WRONG_CODE if entered is Entered.wrong else NO_CODE
            form = _check_phone_form(flow, phone, [field_error("code", message)])
            return await page(op, request, session, "identity/phone_code.html", form, 400)
        factor = {"second_factor": SMS, "phone_number": phone, "totp_secret": None, "totp_last_counter": None}
        return await flow.complete(op, request, db, background, session, factor)
