"""The gateway's view of a service's callbacks on notify's internal API, with their signing secrets (notify spec
§14.1): the console shows them to the service's admins on demand, so a receiver can check the signature of every
callback. Never routed publicly."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from gaap.db.deps import ReadSession
from gaap.internal import GatewayForService, internal_router
from services.notify.callbacks.models import CallbackConfig

router = internal_router("notify")


class CallbackSecret(BaseModel):
    callback_type: str
    url: str
    signing_secret: str


class CallbackSecrets(BaseModel):
    callbacks: list[CallbackSecret]


@router.get("/services/{service_id}/callbacks", response_model=CallbackSecrets)
async def callback_secrets(service_id: GatewayForService, session: ReadSession) -> CallbackSecrets:
    """The service's configured callbacks, by type, each with the secret that signs it."""
    configs = await session.scalars(
        select(CallbackConfig).where(CallbackConfig.service_id == service_id).order_by(CallbackConfig.callback_type)
    )
    return CallbackSecrets(
        callbacks=[
            CallbackSecret(callback_type=c.callback_type, url=c.url, signing_secret=c.signing_secret) for c in configs
        ]
    )
