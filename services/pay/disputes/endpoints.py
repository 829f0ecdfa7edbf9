"""GOV.UK Pay's dispute search (pay spec §10), and an account's disputes of one payment on pay's internal API, for
the console's payment page."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from gaap.db.deps import ReadSession
from gaap.internal import GatewayForService, internal_router
from services.pay.auth import PayCaller
from services.pay.deps import origins
from services.pay.disputes import repository as repo
from services.pay.disputes.models import PUBLIC_STATUSES
from services.pay.disputes.repository import DisputeFilters
from services.pay.disputes.service import dispute_json
from services.pay.errors import Endpoint
from services.pay.ids import is_id
from services.pay.openapi import errors
from services.pay.paging import Paging, Query, envelope, filter_date, filter_datetime, one_of

router = APIRouter(tags=["disputes"])
internal = internal_router("pay")
SEARCH_DISPUTES = Endpoint("P0402", "P0498")


@router.get("/v1/disputes", responses=errors((404, "P0402"), (422, "P0401"), (500, "P0498")))
async def search_disputes(request: Request, caller: PayCaller, session: ReadSession) -> dict[str, Any]:
    """Search the account's disputes, newest first."""
    query = Query(request.scope["query_string"])
    filters = DisputeFilters(
        from_date=query.get("from_date", filter_datetime),
        to_date=query.get("to_date", filter_datetime),
        from_settled_date=query.get("from_settled_date", filter_date),
        to_settled_date=query.get("to_settled_date", filter_date),
        status=query.get("status", one_of(PUBLIC_STATUSES)),
    )
    paging = Paging.read(query)
    query.raise_if_bad("P0401")
    total, rows = await repo.search(
        session, caller.service_id, caller.mode, filters, offset=paging.offset, limit=paging.size
    )
    where = origins(request)
    results = [dispute_json(row, where) for row in rows]
    body = envelope(query, paging, total, results, f"{where.api}/v1/disputes", SEARCH_DISPUTES.not_found)
    # GOV.UK Pay puts this list's paging links under `links`, every other list's under `_links` (§10, §14).
    body["links"] = body.pop("_links")
    return body


@internal.get("/services/{service_id}/accounts/{mode}/payments/{payment_id}/disputes")
async def payment_disputes(
    service_id: GatewayForService,
    mode: Literal["test", "live"],
    payment_id: str,
    request: Request,
    session: ReadSession,
) -> object:
    """The payment's disputes as `/v1/disputes` shows them, oldest first (none for an unknown payment)."""
    found = await repo.of_payment(session, service_id, mode, payment_id) if is_id(payment_id) else []
    where = origins(request)
    return {"disputes": [dispute_json(dispute, where) for dispute in found]}
