"""Changing the password from the account page (spec §9.3, §9.6): in a `Cl.Cm` session, the current password and a
new one under §9.3's rules. Wrong current passwords count towards the account's password lockout, as at sign-in.
Once changed, every other session of the user ends (with back-channel logout) and the account notice is emailed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.access import (
    ACCOUNT,
    CHANGED,
    fully_signed_in,
    not_signed_in,
    wrong_current_password,
)
from services.identity.accounts.forms import NEW_PASSWORD_FIELDS, new_password_error
from services.identity.accounts.notices import notice_sender
from services.identity.accounts.passwords import hash_password
from services.identity.deps import Op
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.logout import service as logout
from services.identity.pages import PAGE_RESPONSES, go, page

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
CHANGE_PASSWORD = ACCOUNT + "/change-password"
FORM = "identity/form.html"


def _form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Change your password"),
        "paragraphs": [
            N_("Your password must be at least 8 characters. It can include spaces."),
            N_("When you change your password, you will be signed out everywhere else you are signed in."),
        ],
        "fields": [
            {
                "name": "current",
                "label": N_("Current password"),
                "type": "password",
                "autocomplete": "current-password",
            },
            *NEW_PASSWORD_FIELDS,
        ],
        "button": N_("Change your password"),
        "back_url": ACCOUNT,
        "errors": errors or [],
    }


@router.get(CHANGE_PASSWORD)
async def change_password_page(request: Request, op: Op, db: DbSession) -> Response:
    """The current password and a new one."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    return await page(op, request, session, FORM, _form())


@router.post(CHANGE_PASSWORD)
async def change_password(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    refused = await wrong_current_password(op, request, db, session, user, ("current", current), _form)
    if refused is not None:
        return refused
    error = new_password_error(password, confirm, user.email, op.breached)
    if error is not None:
        return await page(op, request, session, FORM, _form([error]), 400)
    await users.set_password_hash(db, user.id, await hash_password(password))
    await op.counters.clear("password", user.email)
    record(db, "password_changed", user_id=user.id, reason="account")
    queued = await logout.end_other_sessions(op, db, session, "password_changed")
    background.add_task(logout.enqueue, op, queued)
    background.add_task(notice_sender(op, request, user.email, "password-changed-by-owner"))
    session.journey[CHANGED] = "password"
    return await go(op, session, ACCOUNT)
