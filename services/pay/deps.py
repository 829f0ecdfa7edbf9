"""What pay's routes share: link origins, the token secret, the idempotency scope and post-commit job hand-off."""

from __future__ import annotations

import uuid

from fastapi import BackgroundTasks, Request

from gaap.jobs import JobQueue
from services.pay.idempotency.service import Scope
from services.pay.payments.representation import Origins

#: The worker lane of every background provider call (capture, void, refund).
PROVIDER_LANE = "provider"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def origins(request: Request) -> Origins:
    settings = request.app.state.settings
    return Origins(api=settings.api_root, frontend=settings.frontend_root)


def token_secret(request: Request) -> bytes:
    secret: bytes = request.app.state.settings.token_secret.get_secret_value().encode()
    return secret


def scope(request: Request, service_id: uuid.UUID, mode: str, key: str | None) -> Scope | None:
    """The §4.5 scope of this request's key: (account, method, resolved path, key); None without a key."""
    if key is None:
        return None
    return Scope(service_id, mode, request.method, request.url.path, key)


def after_commit(
    background: BackgroundTasks, request: Request, task: str, ident: str, *, lane: str = PROVIDER_LANE
) -> None:
    """Queue a job (a provider call by default) once the response (and so the commit) is done; a lost enqueue is
    swept later."""
    jobs: JobQueue = request.app.state.jobs
    background.add_task(jobs.enqueue, task, ident, lane=lane)
