"""GOV.UK Notify's v2 received text messages endpoint (notify spec §6.4), and the SMS providers' webhook that
delivers them (§15; new, so it answers errors in the platform envelope)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gaap.app import family_route
from gaap.db.deps import DbSession, ReadSession
from gaap.logging import get_logger
from services.notify import schemas
from services.notify.auth import NotifyCaller
from services.notify.inbound import service as inbound
from services.notify.inbound.schemas import InboundAnswer, InboundText, received_texts_page
from services.notify.receipts.auth import SmsWebhookProvider
from services.notify.validation import parse_uuid, validated_query

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ValidationError"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError"},
    429: {"description": "RateLimitError"},
}
router = APIRouter(tags=["received text messages"], responses=ERRORS)
webhook = APIRouter(
    route_class=family_route("platform"),
    tags=["provider receipts"],
    responses={
        400: {"description": "Not an inbound text"},
        401: {"description": "Wrong or missing provider credentials"},
        404: {"description": "No such provider"},
    },
)
log = get_logger("notify.inbound")


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


@webhook.post("/notifications/sms/receive/{provider}", response_model=InboundAnswer)
async def inbound_text(provider: SmsWebhookProvider, text: InboundText, session: DbSession) -> InboundAnswer:
    """A text sent to one of our numbers: stored for the number's service; 200 even for a number we do not hold."""
    stored = await inbound.record_inbound(
        session,
        notify_number=text.to,
        user_number=text.sender,
        content=text.content,
        provider=provider,
        provider_reference=text.id,
        received_at=text.received_at,
    )
    if stored is None:
        log.info("notify.inbound.ignored", provider=provider, reference=text.id)
        return InboundAnswer(result="ignored", id=None)
    return InboundAnswer(result="stored", id=stored.id)
