"""Deleting the account (spec §9.6): from the account page, in a `Cl.Cm` session, with the password entered again.
The user, their proven identity and its evidence go in one transaction; every session of the user ends; every
relying party the user signed in to that registered a back-channel logout URI is sent a logout token for the `sub`
it knew; and a last notice goes to the address, so an owner whose session was taken over learns of it.

Which relying parties the user signed in to is read from the sign-in records (`usage`), which keep each sign-in's
client and the first characters of the `sub` that client was given, never the user: each client's `sub` for this
user is worked out and matched against them. A client that shares a hint by chance gets a logout token for a `sub`
it never saw, which it ignores.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts.access import ACCOUNT, fully_signed_in, not_signed_in, wrong_current_password
from services.identity.accounts.models import User
from services.identity.accounts.notices import notice_sender
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.logout import service as logout
from services.identity.pages import PAGE_RESPONSES, page
from services.identity.proving.models import IdentityRecord
from services.identity.usage.models import SignIn
from services.identity.usage.service import subject_hint

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
DELETE_ACCOUNT = ACCOUNT + "/delete"
DELETED = "/identity/account-deleted"
FORM = "identity/form.html"


def _form(errors: list[dict[str, str]] | None = None) -> dict[str, object]:
    return {
        "heading": N_("Delete your account"),
        "paragraphs": [
            N_("We will delete your account, your proven identity if you have one, and the evidence it was based on."),
            N_("You will be signed out of every service you used this account for. This cannot be undone."),
        ],
        "fields": [
            {
                "name": "password",
                "label": N_("Enter your password"),
                "type": "password",
                "autocomplete": "current-password",
            }
        ],
        "button": N_("Delete your account"),
        "back_url": ACCOUNT,
        "errors": errors or [],
    }


@router.get(DELETE_ACCOUNT)
async def delete_account_page(request: Request, op: Op, db: DbSession) -> Response:
    """What deleting means, and the password again."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    return await page(op, request, session, FORM, _form())


async def clients_used(op: Provider, db: AsyncSession, user_id: str) -> list[str]:
    """The relying parties the user has signed in to, by the `sub` hints their sign-ins kept."""
    candidates = (await db.scalars(select(SignIn.client_id).distinct())).all()
    used: list[str] = []
    for client_id in candidates:
        client = await op.clients.get(client_id)
        if client is None:
            continue
        hint = subject_hint(op.subject_for(client, user_id))
        found = await db.scalar(
            select(SignIn.id).where(SignIn.client_id == client_id, SignIn.subject_hint == hint).limit(1)
        )
        if found is not None:
            used.append(client_id)
    return used


@router.post(DELETE_ACCOUNT)
async def delete_account(
    request: Request,
    op: Op,
    db: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
    password: Annotated[str, Form()] = "",
) -> Response:
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    refused = await wrong_current_password(op, request, db, session, user, ("password", password), _form)
    if refused is not None:
        return refused
    user_id, email = str(user.id), user.email
    # Every other session of the user ends now, this one with the answer; the clients given tokens in any of them
    # are among those the sign-in records name, unless a record is gone (purged): both lists count.
    in_sessions = await op.sessions.end_others(session) + await op.sessions.take_clients(session.sid)
    clients = sorted(set(await clients_used(op, db, user_id)) | set(in_sessions))
    queued = await logout.queue_logouts(op, db, user_id, clients, "account_deleted")
    proven = await db.get(IdentityRecord, user.id)
    if proven is not None:
        await db.delete(proven)
    await db.delete(await db.get(User, user.id))
    await op.counters.clear("password", email)
    record(db, "account_deleted", user_id=uuid.UUID(user_id), clients=clients)
    await db.flush()
    response = RedirectResponse(DELETED, status_code=303)
    await op.sessions.destroy(session, response)
    background.add_task(logout.enqueue, op, queued)
    background.add_task(notice_sender(op, request, email, "account-deleted"))
    return response


@router.get(DELETED)
async def account_deleted(request: Request) -> Response:
    """The page shown once the account is gone."""
    return request.app.state.pages.render(request, "identity/account_deleted.html")
