"""The receipt webhooks of the email provider, the SMS providers and the print provider. New (GOV.UK's own
receipt routes take each provider's native format), so they answer errors in the platform envelope.

The email and SMS routes take one receipt (a JSON object, answered with one `ReceiptAnswer`) or a batch (a JSON
array of up to `MAX_BATCH`, answered with an array of answers in the same order): see `service`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gaap.app import family_route
from gaap.db.base import utcnow
from gaap.db.deps import DbSession
from services.notify.receipts import print_reports
from services.notify.receipts import service as receipts
from services.notify.receipts.auth import EmailReceiptProvider, PrintReportProvider, SmsWebhookProvider
from services.notify.receipts.schemas import (
    EmailReceipt,
    EmailReceipts,
    LetterReport,
    ReceiptAnswer,
    SmsReceipt,
    SmsReceipts,
)

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


@router.post("/notifications/email/{provider}", response_model=ReceiptAnswer | list[ReceiptAnswer])
async def email_receipt(
    provider: EmailReceiptProvider, receipt: EmailReceipt | EmailReceipts, request: Request, session: DbSession
) -> ReceiptAnswer | list[ReceiptAnswer]:
    """Delivery receipts from the email provider, one or a batch: each sets its notification's final status
    (idempotent)."""
    domain = request.app.state.settings.email_domain
    if isinstance(receipt, EmailReceipt):
        return await receipts.apply_email_receipt(session, provider, receipt, email_domain=domain, now=utcnow())
    batch = [receipts.email_outcome(r, domain) for r in receipt]
    return await receipts.apply_receipts(session, channel="email", provider=provider, receipts=batch, now=utcnow())


@router.post("/notifications/sms/{provider}", response_model=ReceiptAnswer | list[ReceiptAnswer])
async def sms_receipt(
    provider: SmsWebhookProvider, receipt: SmsReceipt | SmsReceipts, session: DbSession
) -> ReceiptAnswer | list[ReceiptAnswer]:
    """Delivery receipts from an SMS provider, one or a batch: each sets its text's status (idempotent)."""
    if isinstance(receipt, SmsReceipt):
        return await receipts.apply_sms_receipt(session, provider, receipt, now=utcnow())
    batch = [receipts.sms_outcome(r) for r in receipt]
    return await receipts.apply_receipts(session, channel="sms", provider=provider, receipts=batch, now=utcnow())


@router.post("/notifications/letter/{provider}", response_model=ReceiptAnswer)
async def letter_report(provider: PrintReportProvider, report: LetterReport, session: DbSession) -> ReceiptAnswer:
    """A report from the print provider: printed, rejected or returned (idempotent)."""
    return await print_reports.apply_letter_report(session, provider, report, now=utcnow())
