"""GOV.UK Notify's v2 received text messages endpoint (notify spec §6.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gaap.db.deps import ReadSession
from services.notify import schemas
from services.notify.auth import NotifyCaller
from services.notify.inbound import service as inbound
from services.notify.inbound.schemas import received_texts_page
from services.notify.validation import parse_uuid, validated_query

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ValidationError"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError"},
    429: {"description": "RateLimitError"},
}
router = APIRouter(tags=["received text messages"], responses=ERRORS)


@router.get(
    "/v2/received-text-messages",
    openapi_extra=schemas.openapi_query_parameters(schemas.GET_RECEIVED_TEXT_MESSAGES_QUERY),
)
async def list_received_texts(request: Request, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """Text messages sent to the service's inbound number, newest first, 250 a page."""
    query = validated_query(request.scope["query_string"], schemas.GET_RECEIVED_TEXT_MESSAGES_QUERY)
    older_than = parse_uuid(query["older_than"], "older_than") if "older_than" in query else None
    messages = await inbound.received_texts(session, caller.service.id, older_than)
    return received_texts_page(messages, request.app.state.settings.public_root)
