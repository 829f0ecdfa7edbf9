"""Delivering tenant pushes as soon as the change that made them is committed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from fastapi import Depends, Request

log = structlog.get_logger("gateway.sync")


async def _deliver_after_response(request: Request) -> AsyncIterator[None]:
    yield
    # Runs after the response, so after the request's session committed the change and its pushes.
    try:
        await request.app.state.pusher.deliver_pending()
    except Exception as exc:  # the gateway worker's sweeper delivers whatever this misses
        log.warning("immediate tenant push failed", error=type(exc).__name__)


#: Router dependency for endpoints that change tenant state.
DeliverPushes = Depends(_deliver_after_response)
