"""A sign-in with a breached password (spec §9.3): the password is right, so the sign-in succeeds, but it is on the
list of leaked passwords (which may have grown since it was chosen), so it must be changed before anything else.

The session reaches no level until then: the password page leaves only the user's id in the journey and sends the
browser here, and nothing else counts that as signed in. The new password follows §9.3's rules (the list included);
once it is stored the lockout is cleared, every other session of the user ends (with back-channel logout: whoever
else knew the old password is signed out), the account notice is emailed, and the session reaches `Cl` and goes on
as the sign-in would have.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.forms import NEW_PASSWORD_FIELDS, new_password_error
from services.identity.accounts.notices import notice_sender
from services.identity.accounts.passwords import hash_password
from services.identity.deps import Op
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.logout import service as logout
from services.identity.oidc.authorization import SIGN_IN
from services.identity.pages import PAGE_RESPONSES, go, page
from services.identity.sessions.steps import after_password, reach_level

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
CHANGE = SIGN_IN + "/change-password"
#: The journey key holding the user who signed in with a breached password and has not changed it yet.
BREACHED_USER = "breached_user"
FORM = "identity/form.html"


def _form(errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "heading": N_("You need to change your password"),
        "paragraphs": [
            N_(
                "The password you signed in with appears in lists of passwords that have been leaked from other "
                "websites, so criminals may try it. Choose a new one to carry on."
            ),
            N_("Your password must be at least 8 characters. It can include spaces."),
            N_("When you change your password, you will be signed out everywhere else you are signed in."),
        ],
        "fields": NEW_PASSWORD_FIELDS,
        "button": N_("Change your password"),
        "errors": errors or [],
    }


@router.get(CHANGE)
async def change_page(request: Request, op: Op) -> Response:
    """Choose a new password, after signing in with a leaked one."""
    session = await op.sessions.load_or_new(request)
    if not session.journey.get(BREACHED_USER):
        return await go(op, session, SIGN_IN)
    return await page(op, request, session, FORM, _form())


@router.post(CHANGE)
async def change_password(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    session = await op.sessions.load_or_new(request)
    waiting = session.journey.get(BREACHED_USER)
    user = await users.by_id(db, uuid.UUID(waiting)) if waiting else None
    if user is None:
        session.journey = {}
        return await go(op, session, SIGN_IN)
    error = new_password_error(password, confirm, user.email, op.breached)
    if error is not None:
        return await page(op, request, session, FORM, _form([error]), 400)
    await users.set_password_hash(db, user.id, await hash_password(password))
    await op.counters.clear("password", user.email)
    record(db, "password_changed", user_id=user.id, reason="breached")
    session.journey.pop(BREACHED_USER)
    await reach_level(op, session, user.id, 1)
    record(db, "signed_in", user_id=user.id, level="Cl")
    queued = await logout.end_other_sessions(op, db, session, "password_changed")
    background.add_task(logout.enqueue, op, queued)
    background.add_task(notice_sender(op, request, user.email, "password-changed"))
    return await go(op, session, after_password(session))
