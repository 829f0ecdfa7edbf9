"""What a payment's outcome does to its agreement (pay spec §8), run by `payments.states.move` in the transaction of
the payment's change, so the two commit or roll back together.

- A set-up payment (`web` with an agreement) that succeeds puts its saved card in use and makes the agreement
  `active` (reactivating a `cancelled` or `inactive` one); the card it replaces is deleted at the provider. One that
  ends any other way has its saved card deleted.
- A recurring payment (`agreement` mode) declined with `can_retry: false` makes the agreement `inactive`, and its
  card, which can no longer be charged, is deleted at the provider.

Deletions are rows in `DELETE_READY`, due at once: the worker's sweep (or the job a cancel queues) makes the call.
Every change here is a conditional UPDATE, so a second move of the same payment (`CAPTURE_APPROVED` then
`CAPTURED`, both `success`) changes nothing more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.agreements import repository as repo
from services.pay.agreements.models import (
    ACTIVE,
    DELETE_READY,
    IN_USE,
    INACTIVE,
    PENDING,
    Agreement,
    PaymentInstrument,
)
from services.pay.payments.models import Payment
from services.pay.payments.states import public_state


async def payment_moved(session: AsyncSession, payment: Payment, now: datetime) -> None:
    assert payment.agreement_id is not None
    state = public_state(payment.status)
    if payment.authorisation_mode == "web":
        if state.status == "success":
            await _activate(session, payment, now)
        elif state.finished:
            saved = await repo.pending_instrument(session, payment.id)
            if saved is not None:
                await _retire(session, saved.id, PENDING, now)
    elif payment.authorisation_mode == "agreement" and state.status == "failed" and payment.can_retry is False:
        agreement = await repo.get_by_id(session, payment.agreement_id, for_update=True)
        if (
            agreement is not None
            and await repo.set_status(
                session, Agreement, agreement.id, from_status=ACTIVE, status=INACTIVE, updated_at=now
            )
            and agreement.instrument_id is not None
        ):
            await _retire(session, agreement.instrument_id, IN_USE, now)


async def _activate(session: AsyncSession, payment: Payment, now: datetime) -> None:
    saved = await repo.pending_instrument(session, payment.id)
    if saved is None or not await repo.set_status(
        session, PaymentInstrument, saved.id, from_status=PENDING, status=IN_USE
    ):
        return
    assert payment.agreement_id is not None
    # The lock serialises two set-up payments of one agreement finishing at once: the later one's card wins.
    agreement = await repo.get_by_id(session, payment.agreement_id, for_update=True)
    assert agreement is not None
    replaced = agreement.instrument_id
    await repo.set_status(
        session,
        Agreement,
        agreement.id,
        from_status=agreement.status,
        status=ACTIVE,
        instrument_id=saved.id,
        cancelled_at=None,
        updated_at=now,
    )
    if replaced is not None:
        await _retire(session, replaced, IN_USE, now)


async def _retire(session: AsyncSession, instrument_id: str, from_status: str, now: datetime) -> bool:
    """Mark a card for deletion at the provider, due at once."""
    return await repo.set_status(
        session, PaymentInstrument, instrument_id, from_status=from_status, status=DELETE_READY, next_attempt_at=now
    )
