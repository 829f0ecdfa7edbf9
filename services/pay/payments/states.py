"""The payment state machine (pay spec §9): one transition table, the only way a payment's status changes.

Internal statuses follow GOV.UK Pay's connector (§9.2's mapping table), so that every provider call has a status
on each side of it: a crash mid-call leaves the payment in a `*_READY` status that the worker finishes. The public
`state` is derived from the internal status; `/events` shows one event per change of the public status.

Only the transitions this release can trigger are listed (the API, `/v1/auth`, the timers and the worker); the
hosted payment pages will add theirs (token exchange, 3-D Secure, payer confirm and cancel) to the same table.
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
    AUTHORISATION_READY = "AUTHORISATION_READY"
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
_CANCELLED = PublicState("cancelled", "P0040", "Payment was cancelled by the service")
_ERROR = PublicState("error", "P0050", "Payment provider returned an error")
_SUCCESS = PublicState("success")

PUBLIC: dict[Status, PublicState] = {
    Status.CREATED: PublicState("created"),
    Status.AUTHORISATION_READY: PublicState("started"),
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
}


class Trigger(StrEnum):
    submit_authorisation = "submit_authorisation"
    authorised = "authorised"
    authorised_for_delayed_capture = "authorised_for_delayed_capture"
    declined = "declined"
    authorisation_failed = "authorisation_failed"
    authorisation_timed_out = "authorisation_timed_out"
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
    # `/v1/auth` accepted: the provider call is about to be made.
    Trigger.submit_authorisation: {S.CREATED: S.AUTHORISATION_READY},
    Trigger.authorised: {S.AUTHORISATION_READY: S.CAPTURE_APPROVED},
    Trigger.authorised_for_delayed_capture: {S.AUTHORISATION_READY: S.AWAITING_CAPTURE_REQUEST},
    Trigger.declined: {S.AUTHORISATION_READY: S.AUTHORISATION_REJECTED},
    Trigger.authorisation_failed: {S.AUTHORISATION_READY: S.AUTHORISATION_ERROR},
    Trigger.authorisation_timed_out: {S.AUTHORISATION_READY: S.AUTHORISATION_TIMEOUT},
    # `POST .../capture`: success at once; the provider capture runs in the background.
    Trigger.capture_requested: {S.AWAITING_CAPTURE_REQUEST: S.CAPTURE_APPROVED},
    Trigger.capture_retry: {S.CAPTURE_APPROVED: S.CAPTURE_APPROVED_RETRY},
    Trigger.captured: {S.CAPTURE_APPROVED: S.CAPTURED, S.CAPTURE_APPROVED_RETRY: S.CAPTURED},
    Trigger.capture_failed: {S.CAPTURE_APPROVED: S.CAPTURE_ERROR, S.CAPTURE_APPROVED_RETRY: S.CAPTURE_ERROR},
    # An authorisation that exists is voided with the provider first (`*_READY`, then the worker).
    Trigger.service_cancel: {S.CREATED: S.SYSTEM_CANCELLED, S.AWAITING_CAPTURE_REQUEST: S.SYSTEM_CANCEL_READY},
    Trigger.expire: {
        S.CREATED: S.EXPIRED,
        S.AUTHORISATION_READY: S.EXPIRE_CANCEL_READY,
        S.AWAITING_CAPTURE_REQUEST: S.EXPIRE_CANCEL_READY,
    },
    Trigger.voided: {S.SYSTEM_CANCEL_READY: S.SYSTEM_CANCELLED, S.EXPIRE_CANCEL_READY: S.EXPIRED},
    Trigger.void_failed: {S.SYSTEM_CANCEL_READY: S.SYSTEM_CANCEL_ERROR, S.EXPIRE_CANCEL_READY: S.EXPIRE_CANCEL_FAILED},
}
#: Statuses in which a provider call runs in the background, by the worker task that makes it.
CAPTURING = (S.CAPTURE_APPROVED, S.CAPTURE_APPROVED_RETRY)
VOIDING = (S.SYSTEM_CANCEL_READY, S.EXPIRE_CANCEL_READY)
#: An authorisation is in flight: cancel answers 409 P0502, and expiry waits for the grace period.
AUTHORISING = (S.AUTHORISATION_READY,)


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
    """Apply `trigger` with one conditional UPDATE and write its event row in the same transaction.

    False means the payment was no longer in the status it was read in (someone else moved it first, or a later
    claim fenced us out): nothing was written, and the caller decides what that means. A trigger the table does
    not allow raises `IllegalTransition`, so the request's transaction rolls back and nothing persists.
    """
    to = target(trigger, payment.status)
    if to is None:
        raise IllegalTransition(f"{trigger} is not allowed from {payment.status}")
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
    return moved
