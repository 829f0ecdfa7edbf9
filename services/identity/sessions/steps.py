"""The steps every way of signing in shares: reaching a level, and where the sign-in goes once the password is
right (the password page, and the change of a breached password, `breached`)."""

from __future__ import annotations

import time
import uuid

from services.identity.deps import Provider
from services.identity.oidc.authorization import CONTINUE, SECOND_FACTOR
from services.identity.oidc.authorize import AuthorizationRequest
from services.identity.sessions.store import BrowserSession


def after_password(session: BrowserSession) -> str:
    """Straight on when the waiting request needs only `Cl`; otherwise the second factor."""
    if session.pending is not None and AuthorizationRequest.from_dict(session.pending).vector.strength == 1:
        return CONTINUE
    return SECOND_FACTOR


async def reach_level(op: Provider, session: BrowserSession, user_id: uuid.UUID, level: int) -> None:
    """A level change: the session gets a new cookie id (the `sid` stays)."""
    session.signed_in(str(user_id), level, time.time())
    await op.sessions.rotate(session)
