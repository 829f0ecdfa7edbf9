"""The transition table (pay spec §9): public states, which triggers apply where, conditional moves that write an
event row, and illegal transitions that raise and persist nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from gaap.db.engine import Database
from services.pay.payments.models import Payment, PaymentEvent
from services.pay.payments.states import (
    FINISHED,
    PUBLIC,
    PUBLIC_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    Status,
    Trigger,
    move,
    public_state,
    target,
)
from tests.pay.conftest import new_payment


def test_every_internal_status_has_a_public_state() -> None:
    assert set(PUBLIC) == set(Status)
    assert {state.status for state in PUBLIC.values()} == set(PUBLIC_STATUSES)


@pytest.mark.parametrize(
    ("status", "public", "code", "message"),
    [
        (Status.CREATED, "created", None, None),
        (Status.ENTERING_CARD_DETAILS, "started", None, None),
        (Status.AUTHORISATION_READY, "started", None, None),
        (Status.AUTHORISATION_3DS_REQUIRED, "started", None, None),
        (Status.AUTHORISATION_3DS_READY, "started", None, None),
        (Status.AUTHORISATION_SUCCESS, "submitted", None, None),
        (Status.AWAITING_CAPTURE_REQUEST, "capturable", None, None),
        (Status.CAPTURE_APPROVED, "success", None, None),
        (Status.CAPTURED, "success", None, None),
        (Status.AUTHORISATION_REJECTED, "failed", "P0010", "Payment method rejected"),
        (Status.EXPIRED, "failed", "P0020", "Payment expired"),
        (Status.EXPIRE_CANCEL_READY, "failed", "P0020", "Payment expired"),
        (Status.SYSTEM_CANCELLED, "cancelled", "P0040", "Payment was cancelled by the service"),
        (Status.USER_CANCEL_READY, "failed", "P0030", "Payment was cancelled by the user"),
        (Status.USER_CANCELLED, "failed", "P0030", "Payment was cancelled by the user"),
        (Status.AUTHORISATION_ERROR, "error", "P0050", "Payment provider returned an error"),
        (Status.AUTHORISATION_TIMEOUT, "error", "P0050", "Payment provider returned an error"),
        (Status.CAPTURE_ERROR, "error", "P0050", "Payment provider returned an error"),
    ],
)
def test_public_states(status: Status, public: str, code: str | None, message: str | None) -> None:
    state = public_state(status.value)
    assert (state.status, state.code, state.message) == (public, code, message)
    body = state.as_json()
    assert body["finished"] == (public in FINISHED)
    assert ("code" in body) == (code is not None)


def test_finished_statuses_are_terminal_except_a_failed_background_capture() -> None:
    for trigger, edges in TRANSITIONS.items():
        for source, destination in edges.items():
            if public_state(source).finished:
                # success -> error (the capture failed for good), or provider work behind a finished status
                assert public_state(source).status == public_state(destination).status or (
                    trigger == Trigger.capture_failed and public_state(source).status == "success"
                ), (trigger, source)


def test_targets() -> None:
    assert target(Trigger.service_cancel, Status.CREATED) == Status.SYSTEM_CANCELLED
    assert target(Trigger.service_cancel, Status.AUTHORISATION_SUCCESS) == Status.SYSTEM_CANCEL_READY
    assert target(Trigger.service_cancel, Status.AUTHORISATION_3DS_READY) is None  # an authorisation in flight
    assert target(Trigger.service_cancel, Status.AWAITING_CAPTURE_REQUEST) == Status.SYSTEM_CANCEL_READY
    assert target(Trigger.expire, Status.AWAITING_CAPTURE_REQUEST) == Status.EXPIRE_CANCEL_READY
    assert target(Trigger.capture_requested, Status.CREATED) is None
    assert target(Trigger.service_cancel, Status.CAPTURED) is None


@pytest.mark.parametrize(
    ("trigger", "source", "destination"),
    [
        (Trigger.payer_started, Status.CREATED, Status.ENTERING_CARD_DETAILS),
        (Trigger.submit_authorisation, Status.ENTERING_CARD_DETAILS, Status.AUTHORISATION_READY),
        (Trigger.authorised_for_confirmation, Status.AUTHORISATION_READY, Status.AUTHORISATION_SUCCESS),
        (Trigger.three_ds_required, Status.AUTHORISATION_READY, Status.AUTHORISATION_3DS_REQUIRED),
        (Trigger.three_ds_submitted, Status.AUTHORISATION_3DS_REQUIRED, Status.AUTHORISATION_3DS_READY),
        (Trigger.authorised_for_confirmation, Status.AUTHORISATION_3DS_READY, Status.AUTHORISATION_SUCCESS),
        (Trigger.declined, Status.AUTHORISATION_3DS_READY, Status.AUTHORISATION_REJECTED),
        (Trigger.payer_confirmed, Status.AUTHORISATION_SUCCESS, Status.CAPTURE_APPROVED),
        (Trigger.payer_confirmed_for_delayed_capture, Status.AUTHORISATION_SUCCESS, Status.AWAITING_CAPTURE_REQUEST),
        (Trigger.payer_cancel, Status.ENTERING_CARD_DETAILS, Status.USER_CANCELLED),
        (Trigger.payer_cancel, Status.AUTHORISATION_SUCCESS, Status.USER_CANCEL_READY),
        (Trigger.voided, Status.USER_CANCEL_READY, Status.USER_CANCELLED),
        (Trigger.expire, Status.AUTHORISATION_SUCCESS, Status.EXPIRE_CANCEL_READY),
        (Trigger.expire, Status.ENTERING_CARD_DETAILS, Status.EXPIRED),
    ],
)
def test_the_payment_pages_transitions(trigger: Trigger, source: Status, destination: Status) -> None:
    assert target(trigger, source) == destination


@pytest.mark.parametrize("status", [Status.AUTHORISATION_READY, Status.AUTHORISATION_3DS_READY, Status.CAPTURED])
def test_the_payer_cannot_cancel_during_an_authorisation_or_once_paid(status: Status) -> None:
    assert target(Trigger.payer_cancel, status) is None


async def test_a_move_is_conditional_and_writes_an_event(api: httpx.Client, pay_db: Database) -> None:
    payment_id = new_payment(api)["payment_id"]
    async with pay_db.write_session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        assert await move(session, payment, Trigger.service_cancel)
        assert payment.status == Status.SYSTEM_CANCELLED  # the UPDATE synchronised the loaded object
    async with pay_db.write_session() as session:
        as_read_before = Payment(id=payment_id, status=Status.CREATED.value)  # someone else has moved it since
        assert not await move(session, as_read_before, Trigger.service_cancel)
    async with pay_db.read_session() as session:
        statuses = list(
            (
                await session.execute(
                    select(PaymentEvent.status).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
                )
            ).scalars()
        )
    assert statuses == [Status.CREATED, Status.SYSTEM_CANCELLED]


async def test_an_illegal_transition_raises_and_persists_nothing(api: httpx.Client, pay_db: Database) -> None:
    payment_id = new_payment(api)["payment_id"]
    async with pay_db.write_session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        with pytest.raises(IllegalTransition):
            await move(session, payment, Trigger.captured)
    async with pay_db.read_session() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None and payment.status == Status.CREATED
        events = await session.execute(
            select(func.count()).select_from(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
        )
        assert events.scalar_one() == 1
