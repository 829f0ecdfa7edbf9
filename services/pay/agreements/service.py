"""Agreement business rules (pay spec §8): create, cancel, the agreement checks of a create-payment request
(§5.1), and the card a set-up payment's authorisation saved. Services only flush; the caller's session commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.db.engine import Database
from services.pay.accounts.models import Account
from services.pay.agreements import repository as repo
from services.pay.agreements.models import (
    ACTIVE,
    CANCELLED,
    CREATED,
    DELETE_READY,
    IN_USE,
    PENDING,
    Agreement,
    PaymentInstrument,
)
from services.pay.agreements.representation import agreement_json
from services.pay.agreements.validation import AgreementRequest
from services.pay.errors import CANCEL_AGREEMENT, Endpoint, invalid, pay_error
from services.pay.ids import new_id
from services.pay.payments.models import Payment
from services.pay.payments.validation import P0103, PaymentRequest


async def create(session: AsyncSession, account: Account, request: AgreementRequest) -> Agreement:
    now = utcnow()
    agreement = Agreement(
        id=new_id(),
        service_id=account.service_id,
        mode=account.mode,
        reference=request.reference,
        description=request.description,
        user_identifier=request.user_identifier,
        status=CREATED,
        created_at=now,
        updated_at=now,
    )
    session.add(agreement)
    await session.flush()
    return agreement


async def require(
    session: AsyncSession,
    service_id: uuid.UUID,
    mode: str,
    agreement_id: str,
    endpoint: Endpoint,
    *,
    lock: bool = False,
) -> Agreement:
    agreement = await repo.get(session, service_id, mode, agreement_id, for_update=lock)
    if agreement is None:
        raise endpoint.not_found_error()
    return agreement


async def present(session: AsyncSession, agreement: Agreement) -> dict[str, Any]:
    return agreement_json(agreement, await repo.instrument(session, agreement.instrument_id))


async def present_many(session: AsyncSession, agreements: list[Agreement]) -> list[dict[str, Any]]:
    held = await repo.instruments(session, [a.instrument_id for a in agreements if a.instrument_id is not None])
    return [agreement_json(a, held.get(a.instrument_id or "")) for a in agreements]


async def cancel(session: AsyncSession, service_id: uuid.UUID, mode: str, agreement_id: str) -> str | None:
    """§8: `active` → `cancelled`, its card marked for deletion at the provider; returns that instrument's ID (the
    worker's job). Any other status is 400 P2501."""
    agreement = await require(session, service_id, mode, agreement_id, CANCEL_AGREEMENT, lock=True)
    now = utcnow()
    if agreement.status != ACTIVE or not await repo.set_status(
        session, Agreement, agreement.id, from_status=ACTIVE, status=CANCELLED, cancelled_at=now, updated_at=now
    ):
        raise pay_error(400, "P2501", "Cancellation of agreement failed")
    instrument_id = agreement.instrument_id
    if instrument_id is not None and await repo.set_status(
        session, PaymentInstrument, instrument_id, from_status=IN_USE, status=DELETE_READY, next_attempt_at=now
    ):
        return instrument_id
    return None


async def check_payment(db: Database, account: Account, request: PaymentRequest) -> None:
    """§5.1 step 7 for agreements, read without taking SQLite's write lock (as `account_of`): a set-up payment
    names an agreement of the account (else 400 P0103), an `agreement` payment an `active` one (else 400 P0102,
    field `agreement_id`)."""
    named = request.set_up_agreement or request.agreement_id
    if named is None:
        return
    async with db.read_session() as session:
        agreement = await repo.get(session, account.service_id, account.mode, named)
        status = agreement.status if agreement is not None else None
    if request.set_up_agreement is not None and status is None:
        raise pay_error(400, "P0103", P0103, field="set_up_agreement")
    if request.agreement_id is not None:
        if status is None:
            raise invalid("agreement_id", "Agreement ID does not exist")
        if status != ACTIVE:
            raise invalid("agreement_id", f"Agreement must be active, but it is {status}")


async def save_pending_card(session: AsyncSession, payment: Payment, token: str) -> None:
    """The card a set-up payment's authorisation saved at the provider, waiting for the payment to succeed
    (`lifecycle`). Only the kept card fields are copied (§13.6)."""
    assert payment.agreement_id is not None
    if await repo.pending_instrument(session, payment.id) is not None:
        return
    session.add(
        PaymentInstrument(
            id=new_id(),
            agreement_id=payment.agreement_id,
            setup_payment_id=payment.id,
            provider=payment.provider,
            token=token,
            status=PENDING,
            card_brand=payment.card_brand,
            card_type=payment.card_type,
            first_digits=payment.first_digits,
            last_digits=payment.last_digits,
            cardholder_name=payment.cardholder_name,
            card_expiry=payment.card_expiry,
            billing_address=payment.billing_address,
            created_at=utcnow(),
        )
    )
    await session.flush()


async def setup_description(db: Database, payment: Payment) -> str | None:
    """The description of the agreement a set-up payment saves its card to, for the card page (§8)."""
    if payment.agreement_id is None or payment.authorisation_mode != "web":
        return None
    async with db.read_session() as session:
        agreement = await repo.get_by_id(session, payment.agreement_id)
        return agreement.description if agreement is not None else None
