"""The steps every way of signing in shares: reaching a level, where the sign-in goes once the password is right
(the password page, and the change of a breached password, `breached`), and the end of a re-authentication that the
wrong person, or too many failures, cannot complete."""

from __future__ import annotations

import time
import uuid

from fastapi import BackgroundTasks
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.identity.deps import Provider
from services.identity.logout.service import end_session, enqueue
from services.identity.oidc.authorization import CONTINUE, SECOND_FACTOR, refuse
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


async def reauthentication_refused(
    op: Provider, db: AsyncSession, background: BackgroundTasks, session: BrowserSession, user_id: uuid.UUID | None
) -> Response | None:
    """While a re-authentication request waits (`prompt=login` with `id_token_hint`, spec §5.3): None when `user_id`
    is the hinted user. Otherwise (someone else signed in, or `user_id` None: too many failures) the browser session
    ends, with back-channel logout for what it signed in to, and the relying party gets `login_required`."""
    if session.pending is None:
        return None
    auth = AuthorizationRequest.from_dict(session.pending)
    if not auth.reauthentication:
        return None
    if user_id is not None:
        client = await op.clients.get(auth.client_id)
        if client is not None and op.subject_for(client, str(user_id)) == auth.hint_sub:
            return None
    response = refuse(op, auth, "login_required", "Login required")
    queued = await end_session(op, db, session, response, "reauthentication_failed")
    background.add_task(enqueue, op, queued)
    return response
