"""GOV.UK Pay's v1 payment endpoints (pay spec §5.1–§5.5). Routes parse, call the service and shape the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.responses import Response

from gaap.db.deps import DbSession, ReadSession
from gaap.errors import json_response
from services.pay.agreements import service as agreements
from services.pay.auth import PayCaller
from services.pay.deps import NO_STORE, after_commit, origins, scope, token_secret
from services.pay.errors import (
    CANCEL_PAYMENT,
    CAPTURE_PAYMENT,
    CREATE_PAYMENT,
    GET_PAYMENT,
    PAYMENT_EVENTS,
    SEARCH_PAYMENTS,
    Endpoint,
)
from services.pay.idempotency import service as idempotency
from services.pay.idempotency.service import REPLAYED, Answer
from services.pay.ids import is_id
from services.pay.openapi import errors, json_body
from services.pay.paging import Query, envelope
from services.pay.payments import repository as repo
from services.pay.payments import service as payments
from services.pay.payments.representation import event_json, links, payment_json
from services.pay.payments.search import payment_filters
from services.pay.payments.states import VOIDING
from services.pay.payments.validation import REQUEST_SCHEMA, validate_create
from services.pay.requests import idempotency_key, json_object

router = APIRouter(tags=["payments"])
CONFLICT = (409, "P0191: the Idempotency-Key was used with another body, or its first request is still running")


def _ttl(request: Request) -> timedelta:
    return timedelta(seconds=request.app.state.settings.idempotency_ttl_seconds)


def _checked_id(payment_id: str, endpoint: Endpoint) -> str:
    """A malformed ID in a path gives the endpoint's 404, never 422 (§2)."""
    if not is_id(payment_id):
        raise endpoint.not_found_error()
    return payment_id


@router.post(
    "/v1/payments",
    status_code=201,
    responses=errors(
        (200, "Replay of an earlier request with the same Idempotency-Key: the payment as it is now"),
        (400, "P0101, P0102, P0103, P0104, P0197 or P0920"),
        (403, "P0940 or P0941"),
        CONFLICT,
        (422, "P0102, P0195, P0196, P0920 or P0942"),
        (500, "P0198 or P0199"),
    ),
    openapi_extra=json_body(REQUEST_SCHEMA),
)
async def create_payment(
    request: Request, caller: PayCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Create a payment."""
    state = request.app.state
    body = await json_object(request, CREATE_PAYMENT)
    key = idempotency_key(request)
    account = await state.accounts.account(caller.service_id, caller.mode)  # cached: accounts.records
    wanted = validate_create(body, account)
    await agreements.check_payment(state.db, account, wanted)
    where, secret = origins(request), token_secret(request)

    async def operation() -> Answer:
        payment = await payments.create(session, account, wanted, secret)
        if payment.authorisation_mode == "agreement":  # authorised by the worker against the stored card (§8)
            after_commit(background, request, "authorise_recurring", payment.id)
        resource = await payments.present(session, payment, where, secret)
        headers = {"Location": where.payment(payment.id), **NO_STORE}
        return Answer(201, resource, payment.id, headers, store_body=False)

    async def replay(stored: Answer) -> Response:
        """§4.5: 200 with the original payment as it is now, with a fresh `next_url` while one applies."""
        payment = await repo.get(session, caller.service_id, caller.mode, stored.resource_id or "")
        if payment is None:
            return stored.response(REPLAYED)
        resource = await payments.present(session, payment, where, secret)
        return json_response(200, resource, {"Location": where.payment(payment.id), **NO_STORE, **REPLAYED})

    return await idempotency.perform(
        state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        body,
        CREATE_PAYMENT,
        operation,
        ttl=_ttl(request),
        replay=replay,
    )


@router.get("/v1/payments/{payment_id}", responses=errors((404, "P0200"), (500, "P0298")))
async def get_payment(payment_id: str, request: Request, caller: PayCaller, session: DbSession) -> Response:
    """Get a payment, with a new one-time `next_url` while the payer can still use it."""
    _checked_id(payment_id, GET_PAYMENT)
    payment = await payments.require(session, caller.service_id, caller.mode, payment_id, GET_PAYMENT)
    resource = await payments.present(session, payment, origins(request), token_secret(request))
    return json_response(200, resource, NO_STORE)


@router.get("/v1/payments/{payment_id}/events", responses=errors((404, "P0300"), (500, "P0398")))
async def get_events(payment_id: str, request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """A payment's public status changes, oldest first."""
    _checked_id(payment_id, PAYMENT_EVENTS)
    payment = await payments.require(session, caller.service_id, caller.mode, payment_id, PAYMENT_EVENTS)
    where = origins(request)
    shown = await payments.public_events(session, payment)
    return {
        "payment_id": payment.id,
        "events": [event_json(payment.id, event.status, event.at, where) for event in shown],
        "_links": {"self": {"href": f"{where.payment(payment.id)}/events", "method": "GET"}},
    }


@router.get("/v1/payments", responses=errors((404, "P0402"), (422, "P0401"), (500, "P0498")))
async def search_payments(request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """Search the account's payments, newest first."""
    query = Query(request.scope["query_string"])
    filters, paging = payment_filters(query)
    query.raise_if_bad("P0401")
    total, rows = await repo.search(
        session, caller.service_id, caller.mode, filters, offset=paging.offset, limit=paging.size
    )
    where = origins(request)
    results = [payment_json(row, links(row, where)) for row in rows]
    return envelope(query, paging, total, results, f"{where.api}/v1/payments", SEARCH_PAYMENTS.not_found)


@router.post(
    "/v1/payments/{payment_id}/cancel",
    status_code=204,
    responses=errors((400, "P0501"), (404, "P0500"), (409, "P0502 or P0191"), (500, "P0598")),
)
async def cancel_payment(
    payment_id: str, request: Request, caller: PayCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Cancel an unfinished payment."""
    key = idempotency_key(request)
    _checked_id(payment_id, CANCEL_PAYMENT)

    async def operation() -> Answer:
        payment = await payments.cancel(session, caller.service_id, caller.mode, payment_id)
        if payment.status in VOIDING:  # an authorisation to void: the worker's job
            after_commit(background, request, "void_payment", payment.id)
        return Answer(204)

    return await idempotency.perform(
        request.app.state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        {},
        CANCEL_PAYMENT,
        operation,
        ttl=_ttl(request),
    )


@router.post(
    "/v1/payments/{payment_id}/capture",
    status_code=204,
    responses=errors((400, "P1001"), (404, "P1000"), (409, "P1003 or P0191"), (500, "P1098")),
)
async def capture_payment(
    payment_id: str, request: Request, caller: PayCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Capture a delayed-capture payment that is `capturable`."""
    key = idempotency_key(request)
    _checked_id(payment_id, CAPTURE_PAYMENT)

    async def operation() -> Answer:
        payment = await payments.capture(session, caller.service_id, caller.mode, payment_id)
        if payment is not None:
            after_commit(background, request, "capture_payment", payment.id)
        return Answer(204)

    return await idempotency.perform(
        request.app.state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        {},
        CAPTURE_PAYMENT,
        operation,
        ttl=_ttl(request),
    )
