"""The payment state machine (pay spec §9): one transition table, the only way a payment's status changes.

Internal statuses follow GOV.UK Pay's connector (§9.2's mapping table), so that every provider call has a status
on each side of it: a crash mid-call leaves the payment in a `*_READY` status that the worker finishes. The public
`state` is derived from the internal status; `/events` shows one event per change of the public status.

Triggers come from the API, `/v1/auth`, the hosted payment pages (token exchange, card details, 3-D Secure, payer
confirm and cancel), the timers and the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.jobs import transition
from services.pay.payments.models import Payment, PaymentEvent


class Status(StrEnum):
    CREATED = "CREATED"
    ENTERING_CARD_DETAILS = "ENTERING_CARD_DETAILS"
    AUTHORISATION_READY = "AUTHORISATION_READY"
    AUTHORISATION_3DS_REQUIRED = "AUTHORISATION_3DS_REQUIRED"
    AUTHORISATION_3DS_READY = "AUTHORISATION_3DS_READY"
    AUTHORISATION_USER_NOT_PRESENT_QUEUED = "AUTHORISATION_USER_NOT_PRESENT_QUEUED"
    AUTHORISATION_SUCCESS = "AUTHORISATION_SUCCESS"
    AUTHORISATION_REJECTED = "AUTHORISATION_REJECTED"
    AUTHORISATION_ERROR = "AUTHORISATION_ERROR"
    AUTHORISATION_TIMEOUT = "AUTHORISATION_TIMEOUT"
    AWAITING_CAPTURE_REQUEST = "AWAITING_CAPTURE_REQUEST"
    CAPTURE_APPROVED = "CAPTURE_APPROVED"
    CAPTURE_APPROVED_RETRY = "CAPTURE_APPROVED_RETRY"
    CAPTURED = "CAPTURED"
    CAPTURE_ERROR = "CAPTURE_ERROR"
    EXPIRE_CANCEL_READY = "EXPIRE_CANCEL_READY"
    EXPIRE_CANCEL_FAILED = "EXPIRE_CANCEL_FAILED"
    EXPIRED = "EXPIRED"
    SYSTEM_CANCEL_READY = "SYSTEM_CANCEL_READY"
    SYSTEM_CANCEL_ERROR = "SYSTEM_CANCEL_ERROR"
    SYSTEM_CANCELLED = "SYSTEM_CANCELLED"
    USER_CANCEL_READY = "USER_CANCEL_READY"
    USER_CANCEL_ERROR = "USER_CANCEL_ERROR"
    USER_CANCELLED = "USER_CANCELLED"


@dataclass(frozen=True)
class PublicState:
    """The `state` object of §9.1."""

    status: str
    code: str | None = None
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "finished": self.finished}
        if self.code is not None:
            body["code"] = self.code
            body["message"] = self.message
        return body


FINISHED = frozenset({"success", "failed", "cancelled", "error"})
PUBLIC_STATUSES = ("created", "started", "submitted", "capturable", "success", "failed", "cancelled", "error")
_REJECTED = PublicState("failed", "P0010", "Payment method rejected")
_EXPIRED = PublicState("failed", "P0020", "Payment expired")
_USER_CANCELLED = PublicState("failed", "P0030", "Payment was cancelled by the user")
_CANCELLED = PublicState("cancelled", "P0040", "Payment was cancelled by the service")
_ERROR = PublicState("error", "P0050", "Payment provider returned an error")
_SUCCESS = PublicState("success")
_STARTED = PublicState("started")

PUBLIC: dict[Status, PublicState] = {
    Status.CREATED: PublicState("created"),
    Status.ENTERING_CARD_DETAILS: _STARTED,
    Status.AUTHORISATION_READY: _STARTED,
    Status.AUTHORISATION_3DS_REQUIRED: _STARTED,
    Status.AUTHORISATION_3DS_READY: _STARTED,
    Status.AUTHORISATION_USER_NOT_PRESENT_QUEUED: _STARTED,
    Status.AUTHORISATION_SUCCESS: PublicState("submitted"),
    Status.AUTHORISATION_REJECTED: _REJECTED,
    Status.AUTHORISATION_ERROR: _ERROR,
    Status.AUTHORISATION_TIMEOUT: _ERROR,
    Status.AWAITING_CAPTURE_REQUEST: PublicState("capturable"),
    Status.CAPTURE_APPROVED: _SUCCESS,
    Status.CAPTURE_APPROVED_RETRY: _SUCCESS,
    Status.CAPTURED: _SUCCESS,
    Status.CAPTURE_ERROR: _ERROR,
    Status.EXPIRE_CANCEL_READY: _EXPIRED,
    Status.EXPIRE_CANCEL_FAILED: _EXPIRED,
    Status.EXPIRED: _EXPIRED,
    Status.SYSTEM_CANCEL_READY: _CANCELLED,
    Status.SYSTEM_CANCEL_ERROR: _CANCELLED,
    Status.SYSTEM_CANCELLED: _CANCELLED,
    Status.USER_CANCEL_READY: _USER_CANCELLED,
    Status.USER_CANCEL_ERROR: _USER_CANCELLED,
    Status.USER_CANCELLED: _USER_CANCELLED,
}


class Trigger(StrEnum):
    payer_started = "payer_started"
    submit_authorisation = "submit_authorisation"
    recurring_queued = "recurring_queued"
    authorised = "authorised"
    authorised_for_delayed_capture = "authorised_for_delayed_capture"
    authorised_for_confirmation = "authorised_for_confirmation"
    three_ds_required = "three_ds_required"
    three_ds_submitted = "three_ds_submitted"
    declined = "declined"
    authorisation_failed = "authorisation_failed"
    authorisation_timed_out = "authorisation_timed_out"
    payer_confirmed = "payer_confirmed"
    payer_confirmed_for_delayed_capture = "payer_confirmed_for_delayed_capture"
    payer_cancel = "payer_cancel"
    capture_requested = "capture_requested"
    capture_retry = "capture_retry"
    captured = "captured"
    capture_failed = "capture_failed"
    service_cancel = "service_cancel"
    expire = "expire"
    voided = "voided"
    void_failed = "void_failed"


S = Status
TRANSITIONS: dict[Trigger, dict[Status, Status]] = {
    # The payer exchanged a `next_url` token and is on the card details page.
    Trigger.payer_started: {S.CREATED: S.ENTERING_CARD_DETAILS},
    # `/v1/auth` accepted, or the payer submitted the card form: the provider call is about to be made.
    Trigger.submit_authorisation: {S.CREATED: S.AUTHORISATION_READY, S.ENTERING_CARD_DETAILS: S.AUTHORISATION_READY},
    # A recurring payment (§8) picked up by the worker: authorised against the agreement's stored card.
    Trigger.recurring_queued: {S.CREATED: S.AUTHORISATION_USER_NOT_PRESENT_QUEUED},
    # MOTO by API and recurring payments: nobody confirms, so an authorisation is the payment.
    Trigger.authorised: {
        S.AUTHORISATION_READY: S.CAPTURE_APPROVED,
        S.AUTHORISATION_USER_NOT_PRESENT_QUEUED: S.CAPTURE_APPROVED,
    },
    Trigger.authorised_for_delayed_capture: {S.AUTHORISATION_READY: S.AWAITING_CAPTURE_REQUEST},
    # The payment pages: an authorisation waits for the payer's confirmation (`submitted`).
    Trigger.authorised_for_confirmation: {
        S.AUTHORISATION_READY: S.AUTHORISATION_SUCCESS,
        S.AUTHORISATION_3DS_READY: S.AUTHORISATION_SUCCESS,
    },
    # 3-D Secure: the provider asks for a challenge; the payer's answer goes back to the provider (one attempt).
    Trigger.three_ds_required: {S.AUTHORISATION_READY: S.AUTHORISATION_3DS_REQUIRED},
    Trigger.three_ds_submitted: {S.AUTHORISATION_3DS_REQUIRED: S.AUTHORISATION_3DS_READY},
    Trigger.declined: {
        S.AUTHORISATION_READY: S.AUTHORISATION_REJECTED,
        S.AUTHORISATION_3DS_READY: S.AUTHORISATION_REJECTED,
        S.AUTHORISATION_USER_NOT_PRESENT_QUEUED: S.AUTHORISATION_REJECTED,
    },
    Trigger.authorisation_failed: {
        S.AUTHORISATION_READY: S.AUTHORISATION_ERROR,
        S.AUTHORISATION_3DS_READY: S.AUTHORISATION_ERROR,
        S.AUTHORISATION_USER_NOT_PRESENT_QUEUED: S.AUTHORISATION_ERROR,
    },
    Trigger.authorisation_timed_out: {
        S.AUTHORISATION_READY: S.AUTHORISATION_TIMEOUT,
        S.AUTHORISATION_3DS_READY: S.AUTHORISATION_TIMEOUT,
        S.AUTHORISATION_USER_NOT_PRESENT_QUEUED: S.AUTHORISATION_TIMEOUT,
    },
    # The payer confirms on the confirm page: success at once (the provider capture runs in the background), or
    # capturable for a delayed-capture payment.
    Trigger.payer_confirmed: {S.AUTHORISATION_SUCCESS: S.CAPTURE_APPROVED},
    Trigger.payer_confirmed_for_delayed_capture: {S.AUTHORISATION_SUCCESS: S.AWAITING_CAPTURE_REQUEST},
    # `POST .../capture`: success at once; the provider capture runs in the background.
    Trigger.capture_requested: {S.AWAITING_CAPTURE_REQUEST: S.CAPTURE_APPROVED},
    Trigger.capture_retry: {S.CAPTURE_APPROVED: S.CAPTURE_APPROVED_RETRY},
    Trigger.captured: {S.CAPTURE_APPROVED: S.CAPTURED, S.CAPTURE_APPROVED_RETRY: S.CAPTURED},
    Trigger.capture_failed: {S.CAPTURE_APPROVED: S.CAPTURE_ERROR, S.CAPTURE_APPROVED_RETRY: S.CAPTURE_ERROR},
    # Cancels and expiry: an authorisation that exists (or a 3-D Secure attempt the provider holds) is voided with
    # the provider first (`*_READY`, then the worker).
    Trigger.payer_cancel: {
        S.CREATED: S.USER_CANCELLED,
        S.ENTERING_CARD_DETAILS: S.USER_CANCELLED,
        S.AUTHORISATION_3DS_REQUIRED: S.USER_CANCEL_READY,
        S.AUTHORISATION_SUCCESS: S.USER_CANCEL_READY,
    },
    Trigger.service_cancel: {
        S.CREATED: S.SYSTEM_CANCELLED,
        S.ENTERING_CARD_DETAILS: S.SYSTEM_CANCELLED,
        S.AUTHORISATION_3DS_REQUIRED: S.SYSTEM_CANCEL_READY,
        S.AUTHORISATION_SUCCESS: S.SYSTEM_CANCEL_READY,
        S.AWAITING_CAPTURE_REQUEST: S.SYSTEM_CANCEL_READY,
    },
    Trigger.expire: {
        S.CREATED: S.EXPIRED,
        S.ENTERING_CARD_DETAILS: S.EXPIRED,
        S.AUTHORISATION_READY: S.EXPIRE_CANCEL_READY,
        S.AUTHORISATION_3DS_REQUIRED: S.EXPIRE_CANCEL_READY,
        S.AUTHORISATION_3DS_READY: S.EXPIRE_CANCEL_READY,
        S.AUTHORISATION_SUCCESS: S.EXPIRE_CANCEL_READY,
        S.AWAITING_CAPTURE_REQUEST: S.EXPIRE_CANCEL_READY,
    },
    Trigger.voided: {
        S.SYSTEM_CANCEL_READY: S.SYSTEM_CANCELLED,
        S.EXPIRE_CANCEL_READY: S.EXPIRED,
        S.USER_CANCEL_READY: S.USER_CANCELLED,
    },
    Trigger.void_failed: {
        S.SYSTEM_CANCEL_READY: S.SYSTEM_CANCEL_ERROR,
        S.EXPIRE_CANCEL_READY: S.EXPIRE_CANCEL_FAILED,
        S.USER_CANCEL_READY: S.USER_CANCEL_ERROR,
    },
}
#: Statuses in which a provider call runs in the background, by the worker task that makes it.
CAPTURING = (S.CAPTURE_APPROVED, S.CAPTURE_APPROVED_RETRY)
VOIDING = (S.SYSTEM_CANCEL_READY, S.EXPIRE_CANCEL_READY, S.USER_CANCEL_READY)
#: An authorisation is in flight: cancel answers 409 P0502, and expiry waits for the grace period.
AUTHORISING = (S.AUTHORISATION_READY, S.AUTHORISATION_3DS_READY)
#: Waiting for the payer (or, for `CREATED`, for the service to send them): these expire with the payment's lifetime.
AWAITING_PAYER = (S.CREATED, S.ENTERING_CARD_DETAILS, S.AUTHORISATION_3DS_REQUIRED, S.AUTHORISATION_SUCCESS)


class IllegalTransition(RuntimeError):
    """A trigger that the table does not allow from the payment's status: a bug in the caller, so a 500."""


def public_state(status: str) -> PublicState:
    return PUBLIC[Status(status)]


def target(trigger: Trigger, status: str) -> Status | None:
    """Where `trigger` takes a payment in `status`, or None if the table does not allow it."""
    return TRANSITIONS[trigger].get(Status(status))


async def move(
    session: AsyncSession,
    payment: Payment,
    trigger: Trigger,
    *,
    expected_attempt: int | None = None,
    now: datetime | None = None,
    **values: Any,
) -> bool:
    """Apply `trigger` with one conditional UPDATE and write its event row, and any webhook messages (§12), in the
    same transaction.

    False means the payment was no longer in the status it was read in (someone else moved it first, or a later
    claim fenced us out): nothing was written, and the caller decides what that means. A trigger the table does
    not allow raises `IllegalTransition`, so the request's transaction rolls back and nothing persists.
    """
    # Imported here: the outbox renders the payment, and the representation imports this module.
    from services.pay.agreements import lifecycle
    from services.pay.webhooks import outbox

    to = target(trigger, payment.status)
    if to is None:
        raise IllegalTransition(f"{trigger} is not allowed from {payment.status}")
    before = public_state(payment.status)
    now = now or utcnow()
    moved = await transition(
        session,
        Payment,
        payment.id,
        from_status=payment.status,
        to_status=to.value,
        expected_attempt=expected_attempt,
        updated_at=now,
        **values,
    )
    if moved:
        # The ORM-enabled UPDATE has already synchronised `payment` (loaded in this session) with the new values.
        session.add(PaymentEvent(payment_id=payment.id, status=to.value, created_at=now))
        await session.flush()
        # Webhook messages are part of the change: same transaction, so they commit or roll back with it (§12).
        await outbox.record(session, payment, outbox.events_for(before, PUBLIC[to], values), now)
        if payment.agreement_id is not None:
            # A set-up payment's outcome decides its card's fate; a final decline ends the agreement (§8).
            await lifecycle.payment_moved(session, payment, now)
    return moved
