"""`POST /v1/auth` (pay spec §7): no API key; the payment's one-time token authenticates the request, and the
gateway forwards it with an anonymous principal. The body is never logged (§13.6)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.principal import AnyPrincipal
from services.pay.auth import account_of
from services.pay.deps import after_commit, scope, token_secret
from services.pay.errors import AUTHORISE
from services.pay.idempotency import service as idempotency
from services.pay.idempotency.service import Answer
from services.pay.moto import service as moto
from services.pay.moto.validation import REQUEST_SCHEMA, AuthorisationRequest, validate_authorisation
from services.pay.openapi import errors, json_body
from services.pay.payments.authorisation import call_provider
from services.pay.requests import idempotency_key, json_object

router = APIRouter(tags=["moto"])


def _fingerprinted(body: dict[str, Any], wanted: AuthorisationRequest, secret: bytes) -> dict[str, Any]:
    """What the idempotency fingerprint covers: the card number only as a keyed hash, and never the CVC, so no
    stored fingerprint is derived from sensitive authentication data (§13.6)."""
    number = hmac.new(secret, wanted.card.number.encode(), hashlib.sha256).hexdigest()
    return {**{k: v for k, v in body.items() if k not in ("card_number", "cvc")}, "card_number": number}


@router.post(
    "/v1/auth",
    status_code=204,
    responses=errors(
        (400, "P0101, P0102, P0197, P0920, P1211 or P1212"),
        (402, "P0010: declined, or a card the account does not accept"),
        (409, "P0191"),
        (422, "P0102"),
        (500, "P0050: provider error or timeout"),
        authenticated=False,
    ),
    openapi_extra=json_body(REQUEST_SCHEMA),
)
async def authorise(
    request: Request, principal: AnyPrincipal, session: DbSession, background: BackgroundTasks
) -> Response:
    """Send card details to authorise a MOTO payment."""
    state = request.app.state
    body = await json_object(request, AUTHORISE)
    key = idempotency_key(request)
    wanted = validate_authorisation(body)
    payment = await moto.find_payment(state.db, wanted.one_time_token)
    account = await account_of(state.db, payment.service_id, payment.mode)
    provider = state.providers[payment.provider]
    info = moto.check_card(provider, account, wanted.card)
    timeout = state.settings.authorisation_timeout_seconds

    async def operation() -> Answer:
        await moto.start(state.db, payment.id)
        attempt = await call_provider(
            lambda: provider.authorise(payment_id=payment.id, amount=payment.amount, card=wanted.card), timeout
        )
        answer = await moto.finish(session, payment.id, attempt, wanted.card, info, account)
        if answer.status_code == 204 and not payment.delayed_capture:
            after_commit(background, request, "capture_payment", payment.id)
        return answer

    return await idempotency.perform(
        state.db,
        session,
        scope(request, payment.service_id, payment.mode, key),
        _fingerprinted(body, wanted, token_secret(request)),
        AUTHORISE,
        operation,
        ttl=timedelta(seconds=state.settings.idempotency_ttl_seconds),
    )
