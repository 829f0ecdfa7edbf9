"""Payment links on pay's internal API, for the gateway's console (pay spec §15 B4): list, create, read, change
and archive an account's links. Only the gateway calls it, for one service at a time (`GatewayForService`);
errors are in the platform envelope, a refused document with `errors: [{"field", "message"}]` for the form."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import Request

from gaap.db.base import utcnow
from gaap.db.deps import DbSession, ReadSession
from gaap.errors import BadRequest, NotFound
from gaap.internal import GatewayForService, internal_router
from services.pay.accounts.service import get_account
from services.pay.links import repository as repo
from services.pay.links import service as links
from services.pay.links.validation import parse_details, parse_new_link

router = internal_router("pay")
Mode = Literal["test", "live"]
Status = Literal["active", "archived"]
BASE = "/services/{service_id}/accounts/{mode}/payment-links"
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such account or payment link"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The address is taken, or the link is archived"}}


async def _document(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _root(request: Request) -> str:
    root: str = request.app.state.settings.frontend_root
    return root


@router.get(BASE)
async def list_links(
    service_id: GatewayForService, mode: Mode, request: Request, session: ReadSession, status: Status | None = None
) -> object:
    """The account's links, newest first (only active or only archived ones with `status`)."""
    archived = None if status is None else status == "archived"
    found = await repo.of_account(session, service_id, mode, archived=archived)
    return {"payment_links": [links.link_json(link, _root(request)) for link in found]}


@router.post(BASE, status_code=201, responses={**NOT_FOUND, **CONFLICT})
async def create_link(service_id: GatewayForService, mode: Mode, request: Request, session: DbSession) -> object:
    """A new link; its address is derived from the service's name and the title unless the document gives it."""
    details, address = parse_new_link(await _document(request))
    account = await get_account(session, service_id, mode)
    if account is None:
        raise NotFound("The gateway has not pushed this account yet", code="AccountNotFound")
    link = await links.create(session, account, details, address, utcnow())
    return links.link_json(link, _root(request))


@router.get(BASE + "/{link_id}", responses=NOT_FOUND)
async def get_link(
    service_id: GatewayForService, mode: Mode, link_id: str, request: Request, session: ReadSession
) -> object:
    link = await repo.get(session, service_id, mode, link_id)
    if link is None:
        raise links.link_missing()
    return links.link_json(link, _root(request))


@router.put(BASE + "/{link_id}", responses={**NOT_FOUND, **CONFLICT})
async def update_link(
    service_id: GatewayForService, mode: Mode, link_id: str, request: Request, session: DbSession
) -> object:
    """Replace an active link's details (everything but its address, which never changes)."""
    details = parse_details(await _document(request))
    link = await links.update(session, service_id, mode, link_id, details, utcnow())
    return links.link_json(link, _root(request))


@router.post(BASE + "/{link_id}/archive", responses=NOT_FOUND)
async def archive_link(
    service_id: GatewayForService, mode: Mode, link_id: str, request: Request, session: DbSession
) -> object:
    """The link stops taking payments: its address says it is no longer available (archiving is final)."""
    link = await links.archive(session, service_id, mode, link_id, utcnow())
    return links.link_json(link, _root(request))
