"""One-click unsubscribe (notify spec §13.3): the recipient's side at `/unsubscribe/<notification_id>/<token>`
(routed by the gateway without key checks: the token is the credential), and the service's side, its reports,
under `/v2/unsubscribe-requests/` (platform error envelope, a new endpoint).

A POST to the link records the request whatever its body: mail clients send RFC 8058's
`List-Unsubscribe=One-Click`, the page's button sends nothing. It carries no CSRF token by design (a mail client
cannot have one); the sealed token in the path is what proves the link was notify's for that email.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from gaap.app import family_route
from gaap.db.deps import DbSession, ReadSession
from gaap.pages import PageError, PageRoute
from services.notify.auth import NotifyCaller
from services.notify.errors import NoResultFound
from services.notify.records import Records
from services.notify.unsubscribe import repository as repo
from services.notify.unsubscribe import service as unsubscribe
from services.notify.unsubscribe.links import LinkHolder, read_token
from services.notify.validation import parse_uuid

pages = APIRouter(route_class=PageRoute, include_in_schema=False)
api = APIRouter(
    tags=["unsubscribe"],
    route_class=family_route("platform"),
    responses={
        400: {"description": "ValidationError"},
        401: {"description": "AuthError"},
        403: {"description": "AuthError"},
    },
)
LINK = "/unsubscribe/{notification_id}/{token}"


async def _email_of(request: Request, session: Any, notification_id: str, token: str) -> tuple[LinkHolder, Any, str]:
    """The link's holder, the email it came from and the sending service's name; the 404 page for anything else."""
    try:
        ident = uuid.UUID(notification_id)
    except ValueError:
        raise PageError(status_code=404) from None
    keyring = request.app.state.settings.encryption_keys.get_secret_value()
    holder = read_token(keyring, ident, token)
    email = await unsubscribe.find_email(session, holder) if holder is not None else None
    if holder is None or email is None:
        raise PageError(status_code=404)
    records: Records = request.app.state.records
    record = await records.service(email.service_id)
    return holder, email, record.service.name if record is not None else ""


@pages.get(LINK)
async def unsubscribe_page(notification_id: str, token: str, request: Request, session: ReadSession) -> Response:
    """Asks the recipient to confirm, with a button that posts to the same link."""
    _holder, _email, sender = await _email_of(request, session, notification_id, token)
    return request.app.state.pages.render(
        request, "notify/unsubscribe/confirm.html", {"sender": sender}, headers={"Referrer-Policy": "no-referrer"}
    )


@pages.post(LINK)
async def unsubscribe_now(notification_id: str, token: str, request: Request, session: DbSession) -> Response:
    """Records the request (once per email) and says so."""
    holder, email, sender = await _email_of(request, session, notification_id, token)
    await unsubscribe.record(session, holder, email)
    return request.app.state.pages.render(
        request, "notify/unsubscribe/done.html", {"sender": sender}, headers={"Referrer-Policy": "no-referrer"}
    )


@api.post(
    "/v2/unsubscribe-requests/reports",
    status_code=201,
    responses={200: {"description": 'Nothing new since the last report: `{"data": null}`'}},
)
async def create_report(caller: NotifyCaller, session: DbSession) -> Any:
    """Batch every unsubscribe request not yet reported into a new report, and return it with its requests."""
    report = await unsubscribe.make_report(session, caller.service.id)
    if report is None:
        return JSONResponse({"data": None}, status_code=200)
    return {"data": unsubscribe.report_json(report, await repo.requests_of(session, report.id))}


@api.get("/v2/unsubscribe-requests/reports")
async def list_reports(caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """The service's latest 50 reports, newest first, without their requests."""
    return {"data": [unsubscribe.report_json(r) for r in await repo.reports(session, caller.service.id)]}


@api.get("/v2/unsubscribe-requests/reports/{report_id}", responses={404: {"description": "NoResultFound"}})
async def get_report(report_id: str, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """One report with its requests, to fetch again."""
    report = await repo.report(session, caller.service.id, parse_uuid(report_id, "report_id"))
    if report is None:
        raise NoResultFound()
    return {"data": unsubscribe.report_json(report, await repo.requests_of(session, report.id))}
