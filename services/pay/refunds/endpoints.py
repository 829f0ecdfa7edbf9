"""GOV.UK Pay's v1 refund endpoints (pay spec §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.responses import Response

from gaap.db.deps import DbSession, ReadSession
from services.pay.accounts.service import require_open
from services.pay.auth import PayCaller, account_of
from services.pay.deps import after_commit, origins, scope
from services.pay.errors import CREATE_REFUND, GET_REFUND, LIST_REFUNDS, SEARCH_REFUNDS
from services.pay.idempotency import service as idempotency
from services.pay.idempotency.service import Answer
from services.pay.ids import is_id
from services.pay.openapi import errors, json_body
from services.pay.paging import Paging, Query, envelope, filter_date, filter_datetime
from services.pay.payments import service as payments
from services.pay.refunds import repository as repo
from services.pay.refunds import service as refunds
from services.pay.refunds.repository import RefundFilters
from services.pay.refunds.validation import REQUEST_SCHEMA, validate_refund
from services.pay.requests import idempotency_key, json_object

router = APIRouter(tags=["refunds"])


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=202,
    responses=errors(
        (400, "P0601, P0602, P0603, P0697 or P0920"),
        (403, "P0940 or P0941"),
        (404, "P0600"),
        (409, "P0191"),
        (412, "P0604"),
        (422, "P0602"),
        (500, "P0698"),
    ),
    openapi_extra=json_body(REQUEST_SCHEMA),
)
async def create_refund(
    payment_id: str, request: Request, caller: PayCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Refund all or part of a successful payment."""
    state = request.app.state
    body = await json_object(request, CREATE_REFUND)
    key = idempotency_key(request)
    wanted = validate_refund(body)
    account = await account_of(state.db, caller.service_id, caller.mode)
    require_open(account)
    if not is_id(payment_id):
        raise CREATE_REFUND.not_found_error()
    where = origins(request)

    async def operation() -> Answer:
        refund = await refunds.create(session, caller.service_id, caller.mode, payment_id, wanted)
        after_commit(background, request, "submit_refund", refund.id)
        return Answer(202, refunds.refund_json(refund, where), refund.id)

    return await idempotency.perform(
        state.db,
        session,
        scope(request, caller.service_id, caller.mode, key),
        body,
        CREATE_REFUND,
        operation,
        ttl=timedelta(seconds=state.settings.idempotency_ttl_seconds),
    )


@router.get("/v1/payments/{payment_id}/refunds", responses=errors((404, "P0800"), (500, "P0898")))
async def list_refunds(payment_id: str, request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """A payment's refunds, oldest first."""
    if not is_id(payment_id):
        raise LIST_REFUNDS.not_found_error()
    payment = await payments.require(session, caller.service_id, caller.mode, payment_id, LIST_REFUNDS)
    where = origins(request)
    href = where.payment(payment.id)
    return {
        "payment_id": payment.id,
        "_links": {"self": {"href": f"{href}/refunds", "method": "GET"}, "payment": {"href": href, "method": "GET"}},
        "_embedded": {"refunds": [refunds.refund_json(r, where) for r in await repo.of_payment(session, payment.id)]},
    }


@router.get("/v1/payments/{payment_id}/refunds/{refund_id}", responses=errors((404, "P0700"), (500, "P0798")))
async def get_refund(
    payment_id: str, refund_id: str, request: Request, caller: PayCaller, session: ReadSession
) -> dict[str, Any]:
    """One refund of a payment."""
    if not (is_id(payment_id) and is_id(refund_id)):
        raise GET_REFUND.not_found_error()
    payment = await payments.require(session, caller.service_id, caller.mode, payment_id, GET_REFUND)
    refund = await repo.get(session, payment.id, refund_id)
    if refund is None:
        raise GET_REFUND.not_found_error()
    return refunds.refund_json(refund, origins(request))


@router.get("/v1/refunds", responses=errors((404, "P1100"), (422, "P1101"), (500, "P1898")))
async def search_refunds(request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """Search the account's refunds, newest first."""
    query = Query(request.scope["query_string"])
    filters = RefundFilters(
        from_date=query.get("from_date", filter_datetime),
        to_date=query.get("to_date", filter_datetime),
        from_settled_date=query.get("from_settled_date", filter_date),
        to_settled_date=query.get("to_settled_date", filter_date),
    )
    paging = Paging.read(query)
    query.raise_if_bad("P1101")
    total, rows = await repo.search(
        session, caller.service_id, caller.mode, filters, offset=paging.offset, limit=paging.size
    )
    where = origins(request)
    results = [refunds.refund_json(row, where) for row in rows]
    return envelope(query, paging, total, results, f"{where.api}/v1/refunds", SEARCH_REFUNDS.not_found)
