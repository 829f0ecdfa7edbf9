"""Each service's callback URLs, from the service document the gateway pushes (notify spec §14).

The document carries `delivery_status_callback`, `inbound_sms_callback` and `returned_letter_callback`, each
`{"url", "bearer_token"}` or absent. Notify refuses a URL it may not call (https only; `http://127.0.0.1` and
`http://localhost` in development) and a token under 10 characters, so the console shows the refusal instead of
callbacks failing later. The signing secret (§14.1) is generated here the first time a type is configured and
kept while it stays configured, so receivers need not change it when the URL or token changes; the document that
created it gets it back, once, in the push's answer.
"""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from gaap.errors import Unprocessable
from services.notify.callbacks.models import DELIVERY_STATUS, INBOUND_SMS, RETURNED_LETTER, CallbackConfig

#: The document's setting for each callback type.
SETTINGS = {
    DELIVERY_STATUS: "delivery_status_callback",
    INBOUND_SMS: "inbound_sms_callback",
    RETURNED_LETTER: "returned_letter_callback",
}
LOOPBACK = {"127.0.0.1", "localhost"}


class CallbackSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=255)
    bearer_token: str = Field(min_length=10, max_length=255)


class CallbackState(BaseModel):
    """What the push's answer says of a configured callback; `signing_secret` only when this push made it."""

    url: str
    signing_secret: str | None = None


class InvalidCallback(Unprocessable):
    code = "InvalidServiceDocument"


def check_url(url: str, *, development: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK and development:
        return
    raise InvalidCallback(f"callback URL {url!r} must be https (http only for 127.0.0.1 or localhost in development)")


async def apply_callbacks(
    session: AsyncSession,
    service_id: uuid.UUID,
    wanted: dict[str, CallbackSetting | None],
    *,
    development: bool,
) -> dict[str, str]:
    """Make the service's callbacks `wanted` (by callback type; None removes one). Returns the signing secrets
    generated now, by callback type."""
    for setting in wanted.values():
        if setting is not None:
            check_url(setting.url, development=development)
    held = {
        c.callback_type: c
        for c in (await session.scalars(select(CallbackConfig).where(CallbackConfig.service_id == service_id))).all()
    }
    generated: dict[str, str] = {}
    for callback_type, setting in wanted.items():
        config = held.get(callback_type)
        if setting is None:
            if config is not None:
                await session.execute(delete(CallbackConfig).where(CallbackConfig.id == config.id))
            continue
        if config is None:
            generated[callback_type] = secrets.token_hex(32)
            config = CallbackConfig(
                service_id=service_id, callback_type=callback_type, signing_secret=generated[callback_type]
            )
            session.add(config)
        if config.url != setting.url or config.bearer_token != setting.bearer_token:
            config.url, config.bearer_token, config.updated_at = setting.url, setting.bearer_token, utcnow()
    await session.flush()
    return generated


async def configured(
    session: AsyncSession, service_id: uuid.UUID, generated: dict[str, str]
) -> dict[str, CallbackState]:
    """The service's callbacks as the push's answer shows them, with the secrets `generated` by this push."""
    rows = await session.execute(
        select(CallbackConfig.callback_type, CallbackConfig.url).where(CallbackConfig.service_id == service_id)
    )
    return {kind: CallbackState(url=url, signing_secret=generated.get(kind)) for kind, url in rows}
