"""A lost second factor (spec §9.6, second bullet): someone who has signed in with their password this time (the
session is at `Cl`) but cannot use their authenticator app or phone proves they still hold the account's email
address with a 6-digit code, then sets up a new second factor on the enrolment pages (`enrolment.py`, under
`/identity/recover/…`). Once the new factor is proven the session reaches `Cl.Cm`, every other session of the user
ends (with back-channel logout), the account notice is emailed, and the sign-in goes on.

An account that holds a proven identity must not let a password and an inbox alone take over the identity that was
proven with documents: after the emailed code, the user either passes a fresh knowledge-based check against the
stored identity or agrees to its deletion (`lost_factor_kbv.py`). Either takes effect in the transaction that stores
the new factor, so a journey given up halfway changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.logging import get_logger
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.change_factor import replace_second_factor
from services.identity.accounts.enrolment import Enrolment, add_pages
from services.identity.accounts.forms import WRONG_CODE, Entered, check_email_form, email_code, enter_emailed_code
from services.identity.accounts.models import User
from services.identity.accounts.notify import NotifyUnavailable
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.oidc.authorization import CONTINUE, SIGN_IN
from services.identity.pages import PAGE_RESPONSES, field_error, go, page
from services.identity.proving.models import IdentityRecord
from services.identity.sessions.steps import reach_level
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
log = get_logger("identity.lost_factor")
RECOVER = "/identity/recover"
CHECK_EMAIL = RECOVER + "/check-email"
PROVEN_IDENTITY = RECOVER + "/proven-identity"
PURPOSE = "recover-factor"
FORM = "identity/form.html"
LOCKED = "identity/locked.html"


async def signed_in_with_password(
    op: Provider, request: Request, db: AsyncSession
) -> tuple[BrowserSession, User | None]:
    """The session, and its user when the password was proven in it (`Cl` or more)."""
    session = await op.sessions.load_or_new(request)
    user = await users.by_id(db, session.user_id) if session.user_id and session.level >= 1 else None
    return session, user


def _start_form() -> dict[str, Any]:
    return {
        "heading": N_("Change how you get security codes"),
        "paragraphs": [
            N_("If you cannot use your authenticator app or phone any more, you can set up a new way to get codes."),
            N_("We will send a 6-digit code to your email address to check it is you."),
            N_("When you change how you get security codes, you will be signed out everywhere else you are signed in."),
        ],
        "button": N_("Send the code"),
        "back_url": SIGN_IN + "/security-code",
        "errors": [],
    }


@router.get(RECOVER)
async def recover_page(request: Request, op: Op, db: DbSession) -> Response:
    """Start replacing a lost second factor (after the password)."""
    session, user = await signed_in_with_password(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    return await page(op, request, session, FORM, _start_form())


@router.post(RECOVER)
async def send_code(request: Request, op: Op, db: DbSession, background: BackgroundTasks, _: CsrfProtected) -> Response:
    session, user = await signed_in_with_password(op, request, db)
    if user is None:
        return await go(op, session, SIGN_IN)
    if await op.counters.hit("send", user.email, op.code_sends) > op.code_sends.max_count:
        return await page(op, request, session, LOCKED, {"what": "sends"}, 429)
    background.add_task(_send_code, op, user.email)
    session.journey = {"recover_user": str(user.id), "recover_email": user.email}
    return await go(op, session, CHECK_EMAIL)


async def _send_code(op: Provider, email: str) -> None:
    try:
        await email_code(op, PURPOSE, email)
    except NotifyUnavailable:
        log.warning("identity.recover_code_not_sent")


def _check_form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    paragraphs = [N_("We have sent a 6-digit code to your email address. The code expires after 15 minutes.")]
    return check_email_form(paragraphs, RECOVER, errors)


def _recovering(session: BrowserSession) -> str | None:
    """The email of the account whose factor is being replaced, once the code is right (and, for an account with a
    proven identity, once it is settled: kept by a passed check, or its deletion agreed)."""
    journey = session.journey
    ready = journey.get("recover_verified") and journey.get("recover_user") == session.user_id
    return journey.get("recover_email") if ready and journey.get("identity_settled") else None


@router.get(CHECK_EMAIL)
async def check_email_page(request: Request, op: Op, db: DbSession) -> Response:
    """Enter the code emailed to the account's address."""
    session, user = await signed_in_with_password(op, request, db)
    if user is None or session.journey.get("recover_user") != str(user.id):
        return await go(op, session, RECOVER if user else SIGN_IN)
    return await page(op, request, session, FORM, _check_form())


@router.post(CHECK_EMAIL)
async def check_email(
    request: Request, op: Op, db: DbSession, _: CsrfProtected, code: Annotated[str, Form()] = ""
) -> Response:
    session, user = await signed_in_with_password(op, request, db)
    if user is None or session.journey.get("recover_user") != str(user.id):
        return await go(op, session, RECOVER if user else SIGN_IN)
    entered = await enter_emailed_code(op, PURPOSE, user.email, code)
    if entered is Entered.locked:
        return await page(op, request, session, LOCKED, {"what": "code"}, 429)
    if entered is Entered.wrong:
        return await page(op, request, session, FORM, _check_form([field_error("code", WRONG_CODE)]), 400)
    session.journey["recover_verified"] = True
    if await db.get(IdentityRecord, user.id) is not None:
        return await go(op, session, PROVEN_IDENTITY)
    session.journey["identity_settled"] = True
    return await go(op, session, RECOVER + "/second-factor")


async def finish_recovery(
    op: Provider,
    request: Request,
    db: AsyncSession,
    background: BackgroundTasks,
    session: BrowserSession,
    factor: dict[str, Any],
) -> Response:
    """The new factor is proven: store it (and delete the proven identity when that was agreed rather than kept by a
    passed check), reach `Cl.Cm`, end the user's other sessions, and send the account notice."""
    user = await users.by_id(db, uuid.UUID(session.journey["recover_user"]))
    if user is None:
        session.journey = {}
        return await go(op, session, SIGN_IN)
    kept = bool(session.journey.get("identity_kept"))
    proven = await db.get(IdentityRecord, user.id) if session.journey.get("delete_identity") and not kept else None
    if proven is not None:
        await db.delete(proven)
        record(db, "identity_deleted", user_id=user.id, reason="second_factor_replaced")
    session.journey = {}
    await reach_level(op, session, user.id, 2)
    await replace_second_factor(
        op, request, db, background, session, user, factor, reason="second_factor_replaced",
        notice="second-factor-changed", identity_deleted=proven is not None, identity_kept_by_kbv=kept,
    )  # fmt: skip
    return await go(op, session, CONTINUE)


add_pages(
    Enrolment(
        prefix=RECOVER,
        start=RECOVER,
        email_of=_recovering,
        complete=finish_recovery,
        purpose="recover-phone",
    ),
    back=RECOVER,
)
