"""The gateway's (and so the console's) view of an account's webhooks on pay's internal API: the webhooks with
their signing secrets (shown to admins on demand), secret rotation and the delivery log (§12, §12.2). The §15 B3
public API (`/v1/webhooks`) is not built yet."""

from __future__ import annotations

from typing import Literal

from gaap.db.base import utcnow
from gaap.db.deps import DbSession, ReadSession
from gaap.errors import NotFound
from gaap.internal import GatewayForService, internal_router
from services.pay.webhooks import config, repository

router = internal_router("pay")
Mode = Literal["test", "live"]
MessageStatus = Literal["PENDING", "SUCCESSFUL", "FAILED", "WILL_NOT_SEND"]
BASE = "/services/{service_id}/accounts/{mode}/webhooks"


def _missing() -> NotFound:
    return NotFound("No such webhook")


@router.get(BASE)
async def list_webhooks(service_id: GatewayForService, mode: Mode, session: ReadSession) -> object:
    now = utcnow()
    return {"webhooks": [repository.webhook_json(h, now) for h in await config.of_account(session, service_id, mode)]}


@router.post(BASE + "/{webhook_id}/rotate_secret")
async def rotate_secret(service_id: GatewayForService, mode: Mode, webhook_id: str, session: DbSession) -> object:
    """A new signing secret; the old one keeps signing for 24 h (§12.2)."""
    now = utcnow()
    hook = await repository.rotate_secret(session, service_id, mode, webhook_id, now)
    if hook is None:
        raise _missing()
    return repository.webhook_json(hook, now)


@router.get(BASE + "/{webhook_id}/messages")
async def list_messages(
    service_id: GatewayForService,
    mode: Mode,
    webhook_id: str,
    session: ReadSession,
    status: MessageStatus | None = None,
) -> object:
    """The newest messages with every attempt's time, status code and reason (kept 7 days)."""
    log = await repository.delivery_log(session, service_id, mode, webhook_id, status=status)
    if log is None:
        raise _missing()
    return {"messages": log}
