"""The receipt webhooks of the email provider, the SMS providers and the print provider. New (GOV.UK's own
receipt routes take each provider's native format), so they answer errors in the platform envelope."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gaap.app import family_route
from gaap.db.base import utcnow
from gaap.db.deps import DbSession
from services.notify.receipts import print_reports
from services.notify.receipts import service as receipts
from services.notify.receipts.auth import EmailReceiptProvider, PrintReportProvider, SmsWebhookProvider
from services.notify.receipts.schemas import EmailReceipt, LetterReport, ReceiptAnswer, SmsReceipt

router = APIRouter(
    route_class=family_route("platform"),
    tags=["provider receipts"],
    responses={
        400: {"description": "Not a receipt"},
        401: {"description": "Wrong or missing provider credentials"},
        404: {"description": "No such provider"},
        409: {"description": "The notification is not handed over yet: send the receipt again later"},
    },
)


@router.post("/notifications/email/{provider}", response_model=ReceiptAnswer)
async def email_receipt(
    provider: EmailReceiptProvider, receipt: EmailReceipt, request: Request, session: DbSession
) -> ReceiptAnswer:
    """A delivery receipt from the email provider: sets the notification's final status (idempotent)."""
    settings = request.app.state.settings
    return await receipts.apply_email_receipt(
        session, provider, receipt, email_domain=settings.email_domain, now=utcnow()
    )


@router.post("/notifications/sms/{provider}", response_model=ReceiptAnswer)
async def sms_receipt(provider: SmsWebhookProvider, receipt: SmsReceipt, session: DbSession) -> ReceiptAnswer:
    """A delivery receipt from an SMS provider: sets the text's status (idempotent)."""
    return await receipts.apply_sms_receipt(session, provider, receipt, now=utcnow())


@router.post("/notifications/letter/{provider}", response_model=ReceiptAnswer)
async def letter_report(provider: PrintReportProvider, report: LetterReport, session: DbSession) -> ReceiptAnswer:
    """A report from the print provider: printed, rejected or returned (idempotent)."""
    return await print_reports.apply_letter_report(session, provider, report, now=utcnow())
