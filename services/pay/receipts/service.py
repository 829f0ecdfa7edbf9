"""Writing a confirmation email to the outbox (pay spec §13.1), in the transaction in which the payer confirms.

GOV.UK Pay sends its "payment confirmed" email when the payer confirms on the payment pages, whether the payment
then is `success` or `capturable` (delayed capture), and only when an email address is known and the account's
`email_notifications` is on. MOTO payments by API have no payer confirmation and get none, as in GOV.UK Pay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.accounts.models import Account
from services.pay.payments.models import Payment
from services.pay.receipts.models import PENDING, ConfirmationEmail
from services.pay.receipts.templates import LANGUAGES, personalisation


async def record(session: AsyncSession, payment: Payment, now: datetime) -> bool:
    """Write the payment's confirmation email if it should have one; True if it was written. Call it in the
    transaction that records the confirmation, so the email exists exactly when the confirmation committed."""
    if not payment.email:
        return False
    account = await session.get(Account, (payment.service_id, payment.mode))
    if account is None or not account.email_notifications:
        return False
    session.add(
        ConfirmationEmail(
            id=payment.id,
            status=PENDING,
            language=payment.language if payment.language in LANGUAGES else "en",
            email_address=payment.email,
            personalisation=personalisation(payment, account, now),
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
    )
    await session.flush()
    return True
