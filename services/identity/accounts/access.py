"""What the account page and its changes share: the account page's path, the one-off message it shows after a
change, and the rule that changes need a session signed in with the second factor (`Cl.Cm`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from services.identity.accounts import repository as users
from services.identity.accounts.models import User
from services.identity.accounts.passwords import verify_password
from services.identity.deps import Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.oidc.authorization import SECOND_FACTOR, SIGN_IN
from services.identity.pages import field_error, go, page
from services.identity.sessions.store import BrowserSession

ACCOUNT = "/identity/account"
FORM = "identity/form.html"
LOCKED = "identity/locked.html"
#: The journey key of the account page's one-off message after a change, and the messages.
CHANGED = "account_changed"
CHANGE_MESSAGES = {
    "email": N_("Your email address has been changed."),
    "password": N_("Your password has been changed."),
    "second-factor": N_("You have changed how you get security codes."),
    "identity-deleted": N_("Your proven identity has been deleted."),
}


async def fully_signed_in(op: Provider, request: Request, db: AsyncSession) -> tuple[BrowserSession, User | None]:
    """The session, and its user when it is signed in at `Cl.Cm`."""
    session = await op.sessions.load_or_new(request)
    user = await users.by_id(db, session.user_id) if session.user_id and session.level >= 2 else None
    return session, user


async def wrong_current_password(
    op: Provider,
    request: Request,
    db: AsyncSession,
    session: BrowserSession,
    user: User,
    entered: tuple[str, str],
    form: Callable[[list[dict[str, str]]], dict[str, Any]],
) -> Response | None:
    """None when the password `entered` (field name, value) is the user's; else the page to answer: `form` with its
    error against that field, or the lockout once the wrong passwords reach it (they count as at sign-in, §9.4)."""
    field, password = entered
    if await op.counters.exceeded("password", user.email, op.lockout):
        return await page(op, request, session, LOCKED, {"what": "password"}, 429)
    matches, _rehash = await verify_password(user.password_hash, password)
    if matches:
        return None
    if await op.counters.hit("password", user.email, op.lockout) >= op.lockout.max_count:
        record(db, "account_locked", user_id=user.id, reason="password")
        return await page(op, request, session, LOCKED, {"what": "password"}, 429)
    error = field_error(field, N_("The password you entered is not your current password"))
    return await page(op, request, session, FORM, form([error]), 400)


async def not_signed_in(op: Provider, session: BrowserSession) -> Response:
    """Where a session not signed in at `Cl.Cm` is sent instead: the sign-in, or its second factor."""
    return await go(op, session, SECOND_FACTOR if session.user_id else SIGN_IN)
