"""The gateway's view of a service's callbacks on notify's internal API, with their signing secrets (notify spec
§14.1): the console shows them to the service's admins on demand, so a receiver can check the signature of every
callback, and rotates one: notify makes a new secret and the old one signs beside it for 24 hours. Never routed
publicly."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from gaap.db.base import utcnow
from gaap.db.deps import DbSession, ReadSession
from gaap.errors import NotFound
from gaap.internal import GatewayForService, internal_router
from services.notify.callbacks.models import CALLBACK_TYPES, CallbackConfig

router = internal_router("notify")


class CallbackSecret(BaseModel):
    callback_type: str
    url: str
    signing_secret: str
    #: While a rotated-out secret still signs beside this one: until when.
    previous_secret_expires: datetime | None = None


class CallbackSecrets(BaseModel):
    callbacks: list[CallbackSecret]


def _shown(config: CallbackConfig, now: datetime) -> CallbackSecret:
    overlap = config.previous_until if len(config.live_secrets(now)) > 1 else None
    return CallbackSecret(
        callback_type=config.callback_type,
        url=config.url,
        signing_secret=config.signing_secret,
        previous_secret_expires=overlap,
    )


@router.get("/services/{service_id}/callbacks", response_model=CallbackSecrets)
async def callback_secrets(service_id: GatewayForService, session: ReadSession) -> CallbackSecrets:
    """The service's configured callbacks, by type, each with the secret that signs it."""
    configs = await session.scalars(
        select(CallbackConfig).where(CallbackConfig.service_id == service_id).order_by(CallbackConfig.callback_type)
    )
    now = utcnow()
    return CallbackSecrets(callbacks=[_shown(c, now) for c in configs])


@router.post("/services/{service_id}/callbacks/{callback_type}/rotate_secret", response_model=CallbackSecret)
async def rotate_callback_secret(
    service_id: GatewayForService, callback_type: str, session: DbSession
) -> CallbackSecret:
    """A new signing secret for one of the service's callbacks; the old one keeps signing for 24 hours."""
    config = None
    if callback_type in CALLBACK_TYPES:
        config = await session.scalar(
            select(CallbackConfig)
            .where(CallbackConfig.service_id == service_id, CallbackConfig.callback_type == callback_type)
            .with_for_update()
        )
    if config is None:
        raise NotFound(f"The service has no {callback_type} callback", code="NoSuchCallback")
    now = utcnow()
    config.rotate(now)
    await session.flush()
    return _shown(config, now)
