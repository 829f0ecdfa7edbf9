"""What the account page and its changes share: the account page's path, the one-off message it shows after a
change, and the rule that changes need a session signed in with the second factor (`Cl.Cm`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from services.identity.accounts import repository as users
from services.identity.accounts.models import User
from services.identity.deps import Provider
from services.identity.i18n import N_
from services.identity.oidc.authorization import SECOND_FACTOR, SIGN_IN
from services.identity.pages import go
from services.identity.sessions.store import BrowserSession

ACCOUNT = "/identity/account"
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


async def not_signed_in(op: Provider, session: BrowserSession) -> Response:
    """Where a session not signed in at `Cl.Cm` is sent instead: the sign-in, or its second factor."""
    return await go(op, session, SECOND_FACTOR if session.user_id else SIGN_IN)
