"""Changing the second factor from the account page (spec §1, §9.6): in a `Cl.Cm` session, a new authenticator app
or phone on the enrolment pages (`enrolment.py`, under `/identity/account/…`), proven with a code before it
replaces the old one. Then every other session of the user ends (with back-channel logout) and the account notice
is emailed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import PageRoute
from services.identity.accounts import repository as users
from services.identity.accounts.access import ACCOUNT, CHANGED, fully_signed_in, not_signed_in
from services.identity.accounts.enrolment import Enrolment, add_pages
from services.identity.accounts.models import User
from services.identity.accounts.notices import notice_sender
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.logout import service as logout
from services.identity.pages import PAGE_RESPONSES, go
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
CHANGE_FACTOR = ACCOUNT + "/change-second-factor"


@router.get(CHANGE_FACTOR)
async def change_factor(request: Request, op: Op, db: DbSession) -> Response:
    """Start: note whose factor is changing, then the choice of app or phone."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    session.journey.update(changing_factor=str(user.id), changing_factor_email=user.email)
    return await go(op, session, ACCOUNT + "/second-factor")


def _changing(session: BrowserSession) -> str | None:
    """The account's email while its own `Cl.Cm` session is changing its factor."""
    journey = session.journey
    same_user = journey.get("changing_factor") == session.user_id and session.level >= 2
    return journey.get("changing_factor_email") if same_user else None


async def replace_second_factor(
    op: Provider,
    request: Request,
    db: AsyncSession,
    background: BackgroundTasks,
    session: BrowserSession,
    user: User,
    factor: dict[str, Any],
    *,
    reason: str,
    notice: str,
    **detail: Any,
) -> None:
    """Store a proven new factor on `user`, record `reason`, end the user's other sessions (with back-channel
    logout) and email the account `notice`: what changing a factor and replacing a lost one share. `session` must
    already be at the level it keeps."""
    for column, value in factor.items():
        setattr(user, column, value)
    record(db, reason, user_id=user.id, second_factor=user.second_factor, **detail)
    await db.flush()
    queued = await logout.end_other_sessions(op, db, session, reason)
    background.add_task(logout.enqueue, op, queued)
    background.add_task(notice_sender(op, request, user.email, notice))


async def finish_change(
    op: Provider,
    request: Request,
    db: AsyncSession,
    background: BackgroundTasks,
    session: BrowserSession,
    factor: dict[str, Any],
) -> Response:
    """The new factor is proven: it replaces the old one; other sessions end; the notice is emailed."""
    user = await users.by_id(db, uuid.UUID(session.journey["changing_factor"]))
    if user is None:
        session.journey = {}
        return await go(op, session, ACCOUNT)
    for key in ("changing_factor", "changing_factor_email", "totp_secret", "phone", "phone_typed"):
        session.journey.pop(key, None)
    session.journey[CHANGED] = "second-factor"
    await replace_second_factor(
        op, request, db, background, session, user, factor,
        reason="second_factor_changed", notice="second-factor-changed-by-owner",
    )  # fmt: skip
    return await go(op, session, ACCOUNT)


add_pages(
    Enrolment(
        prefix=ACCOUNT,
        start=ACCOUNT,
        email_of=_changing,
        complete=finish_change,
        purpose="change-phone",
    ),
    back=ACCOUNT,
)
