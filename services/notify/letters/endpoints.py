"""GET /v2/notifications/{notification_id}/pdf (notify spec §6.3): the one v2 route whose success is not JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from gaap.db.deps import DbSession
from services.notify.auth import NotifyCaller
from services.notify.letters import service as letters
from services.notify.validation import parse_uuid

ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The letter as a PDF", "content": {"application/pdf": {}}},
    400: {"description": "ValidationError, BadRequestError or PDFNotReadyError"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError"},
    404: {"description": "NoResultFound"},
    429: {"description": "RateLimitError"},
}
router = APIRouter(tags=["notifications"])


# A write session, though most calls only read: a templated letter's first request stores the PDF it draws, and
# the caller's own lookup already holds this request's session.
@router.get("/v2/notifications/{notification_id}/pdf", response_class=Response, responses=ERRORS)
async def get_pdf_for_letter(notification_id: str, caller: NotifyCaller, session: DbSession) -> Response:
    """A letter's PDF: the sender's own file once it has passed its virus scan, or a templated letter as printed."""
    pdf = await letters.letter_pdf(session, caller, parse_uuid(notification_id, "notification_id"))
    return Response(pdf, media_type="application/pdf")
