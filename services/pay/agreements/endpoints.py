"""GOV.UK Pay's v1 agreement endpoints (pay spec §8). Routes parse, call the service and shape the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.responses import Response

from gaap.db.deps import DbSession, ReadSession
from services.pay.agreements import repository as repo
from services.pay.agreements import service as agreements
from services.pay.agreements.validation import REQUEST_SCHEMA, search_filters, validate_create
from services.pay.auth import PayCaller, account_of
from services.pay.deps import after_commit, origins, scope
from services.pay.errors import CANCEL_AGREEMENT, CREATE_AGREEMENT, GET_AGREEMENT, SEARCH_AGREEMENTS, Endpoint
from services.pay.idempotency import service as idempotency
from services.pay.idempotency.service import Answer
from services.pay.ids import is_id
from services.pay.openapi import errors, json_body
from services.pay.paging import Query, envelope
from services.pay.requests import idempotency_key, json_object

router = APIRouter(tags=["agreements"])
CONFLICT = (409, "P0191: the Idempotency-Key was used with another body, or its first request is still running")


def _ttl(request: Request) -> timedelta:
    return timedelta(seconds=request.app.state.settings.idempotency_ttl_seconds)


def _checked_id(agreement_id: str, endpoint: Endpoint) -> str:
    """A malformed ID in a path gives the endpoint's 404, never 422 (§2)."""
    if not is_id(agreement_id):
        raise endpoint.not_found_error()
    return agreement_id


def _self(request: Request, agreement_id: str) -> str:
    return f"{origins(request).api}/v1/agreements/{agreement_id}"


@router.post(
    "/v1/agreements",
    status_code=201,
    responses=errors(
        (400, "P2101, P2102, P2197 or P0920"),
        CONFLICT,
        (422, "P2102 or P0942"),
        (500, "P2198 or P0199"),
    ),
    openapi_extra=json_body(REQUEST_SCHEMA),
)
async def create_agreement(request: Request, caller: PayCaller, session: DbSession) -> Response:
    """Create an agreement for recurring card payments; a set-up payment then saves the payer's card to it."""
    state = request.app.state
    body = await json_object(request, CREATE_AGREEMENT)
    key = idempotency_key(request)
    account = await account_of(state.db, caller.service_id, caller.mode)
    wanted = validate_create(body, account)

    async def operation() -> Answer:
        agreement = await agreements.create(session, account, wanted)
        resource = await agreements.present(session, agreement)
        return Answer(201, resource, agreement.id, {"Location": _self(request, agreement.id)})

    return await idempotency.perform(
        state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        body,
        CREATE_AGREEMENT,
        operation,
        ttl=_ttl(request),
    )


@router.get("/v1/agreements/{agreement_id}", responses=errors((404, "P2200"), (500, "P2298")))
async def get_agreement(agreement_id: str, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """Get an agreement, with the card it takes payments from once one is saved."""
    _checked_id(agreement_id, GET_AGREEMENT)
    agreement = await agreements.require(session, caller.service_id, caller.mode, agreement_id, GET_AGREEMENT)
    return await agreements.present(session, agreement)


@router.get("/v1/agreements", responses=errors((404, "P2402"), (422, "P2401"), (500, "P2498")))
async def search_agreements(request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """Search the account's agreements by reference and status, newest first."""
    query = Query(request.scope["query_string"])
    filters, paging = search_filters(query)
    query.raise_if_bad("P2401")
    total, rows = await repo.search(
        session,
        caller.service_id,
        caller.mode,
        reference=filters.reference,
        status=filters.status,
        offset=paging.offset,
        limit=paging.size,
    )
    results = await agreements.present_many(session, list(rows))
    base = f"{origins(request).api}/v1/agreements"
    return envelope(query, paging, total, results, base, SEARCH_AGREEMENTS.not_found)


@router.post(
    "/v1/agreements/{agreement_id}/cancel",
    status_code=204,
    responses=errors((400, "P2501"), (404, "P2500"), CONFLICT, (500, "P2598")),
)
async def cancel_agreement(
    agreement_id: str, request: Request, caller: PayCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Cancel an active agreement: no more recurring payments, and its card is deleted at the provider."""
    key = idempotency_key(request)
    _checked_id(agreement_id, CANCEL_AGREEMENT)

    async def operation() -> Answer:
        instrument_id = await agreements.cancel(session, caller.service_id, caller.mode, agreement_id)
        if instrument_id is not None:
            after_commit(background, request, "delete_instrument", instrument_id)
        return Answer(204)

    return await idempotency.perform(
        request.app.state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        {},
        CANCEL_AGREEMENT,
        operation,
        ttl=_ttl(request),
    )
