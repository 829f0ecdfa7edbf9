"""Payment business rules (pay spec §5.1, §5.3, §5.5): create, read with a fresh `next_url`, cancel, capture and
the public event history. Services only flush; the request's session commits (ARCHITECTURE rule 1). Provider calls
never happen here: a capture or a void is a status the worker acts on after the commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.pay.accounts.models import Account
from services.pay.errors import CANCEL_PAYMENT, CAPTURE_PAYMENT, Endpoint, PayError, pay_error
from services.pay.ids import new_id
from services.pay.payments import repository as repo
from services.pay.payments.models import Payment, PaymentEvent
from services.pay.payments.representation import (
    Origins,
    links,
    payment_json,
    wants_moto_token,
    wants_next_url,
)
from services.pay.payments.states import AUTHORISING, VOIDING, Status, Trigger, move, public_state, target
from services.pay.payments.tokens import moto_token, new_next_url_token, token_hash
from services.pay.payments.validation import PaymentRequest


async def create(session: AsyncSession, account: Account, request: PaymentRequest, token_secret: bytes) -> Payment:
    """One `created` payment and its first event, flushed in the request's transaction."""
    now = utcnow()
    payment_id = new_id()
    assert account.provider is not None  # checked by validation (P0940)
    payment = Payment(
        id=payment_id,
        service_id=account.service_id,
        mode=account.mode,
        amount=request.amount,
        reference=request.reference,
        description=request.description,
        language=request.language,
        email=request.email,
        return_url=request.return_url,
        metadata_=request.metadata,
        prefilled=request.prefilled,
        delayed_capture=request.delayed_capture,
        moto=request.moto,
        authorisation_mode=request.authorisation_mode,
        agreement_id=request.set_up_agreement or request.agreement_id,
        agreement_payment_type=request.agreement_payment_type,
        provider=account.provider,
        status=Status.CREATED.value,
        refunded_amount=0,
        auth_token_hash=(
            token_hash(moto_token(token_secret, payment_id)) if request.authorisation_mode == "moto_api" else None
        ),
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    session.add(payment)
    session.add(PaymentEvent(payment_id=payment_id, status=Status.CREATED.value, created_at=now))
    await session.flush()
    return payment


async def present(session: AsyncSession, payment: Payment, origins: Origins, token_secret: bytes) -> dict[str, Any]:
    """The full resource. An open web payment gets a new one-time `next_url` token on every read (§5.2), stored
    (as its hash) in the caller's transaction; a MOTO payment shows its one token while it is open."""
    next_token = None
    if wants_next_url(payment):
        next_token = new_next_url_token()
        repo.add_next_url_token(session, payment.id, token_hash(next_token), utcnow())
        await session.flush()
    auth_token = moto_token(token_secret, payment.id) if wants_moto_token(payment) else None
    return payment_json(payment, links(payment, origins, next_url_token=next_token, moto_token=auth_token))


async def require(
    session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str, endpoint: Endpoint, *, lock: bool = False
) -> Payment:
    payment = await repo.get(session, service_id, mode, payment_id, for_update=lock)
    if payment is None:
        raise endpoint.not_found_error()
    return payment


def _cancel_failed(status: int, code: str) -> PayError:
    return pay_error(status, code, "Cancellation of payment failed")


async def cancel(session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str) -> Payment:
    """§5.5: `cancelled` P0040 from any unfinished status except during an authorisation (409 P0502); a
    finished or `agreement` payment is 400 P0501. An authorisation that exists is voided by the worker."""
    payment = await require(session, service_id, mode, payment_id, CANCEL_PAYMENT, lock=True)
    if public_state(payment.status).finished or payment.authorisation_mode == "agreement":
        raise _cancel_failed(400, "P0501")
    if payment.status in AUTHORISING:
        raise _cancel_failed(409, "P0502")
    to = target(Trigger.service_cancel, payment.status)
    if to is None:
        raise _cancel_failed(400, "P0501")
    now = utcnow()
    extra: dict[str, Any] = {"next_attempt_at": now} if to in VOIDING else {}
    if not await move(session, payment, Trigger.service_cancel, now=now, **extra):
        raise _cancel_failed(409, "P0502")
    return payment


async def capture(session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str) -> Payment | None:
    """§5.5: `capturable` → `success`, the provider capture queued for the worker; returns the payment when a
    capture job is due. Capturing a `success` payment again is a no-op (None); any other status is 409 P1003."""
    payment = await require(session, service_id, mode, payment_id, CAPTURE_PAYMENT, lock=True)
    if public_state(payment.status).status == "success":
        return None
    if target(Trigger.capture_requested, payment.status) is None:
        raise pay_error(409, "P1003", "Payment cannot be captured")
    now = utcnow()
    if not await move(session, payment, Trigger.capture_requested, now=now, next_attempt_at=now):
        raise pay_error(409, "P1003", "Payment cannot be captured")
    return payment


@dataclass(frozen=True)
class PublicEvent:
    status: str
    at: datetime


async def public_events(session: AsyncSession, payment: Payment) -> list[PublicEvent]:
    """One event per change of public status, oldest first (§5.3): internal-only changes add nothing."""
    shown: list[PublicEvent] = []
    last = None
    for event in await repo.events(session, payment.id):
        state = public_state(event.status)
        key = (state.status, state.code)
        if key != last:
            shown.append(PublicEvent(event.status, event.created_at))
            last = key
    return shown
