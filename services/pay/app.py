"""The pay API process: GOV.UK Pay-compatible payments (`/v1/*`) and the hosted payment pages (`/secure`,
`/card_details/*`, `/check_card/*`, `/return/*`), behind the gateway."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from gaap.app import Component, build_app
from gaap.jobs import JobQueue
from services.pay.accounts.endpoints import router as internal_router
from services.pay.accounts.records import AccountRecords
from services.pay.agreements.endpoints import router as agreements_router
from services.pay.disputes.endpoints import internal as disputes_internal_router
from services.pay.disputes.endpoints import router as disputes_router
from services.pay.links.endpoints import router as links_internal_router
from services.pay.links.pages import router as links_pages_router
from services.pay.moto.endpoints import router as moto_router
from services.pay.pages.authorisation import Authorisations
from services.pay.pages.endpoints import router as pages_router
from services.pay.pages.rendering import install_pages
from services.pay.payments.endpoints import router as payments_router
from services.pay.provider import build_providers
from services.pay.receipts import delivery as receipts
from services.pay.refunds.endpoints import router as refunds_router
from services.pay.settings import PaySettings
from services.pay.usage.endpoints import router as usage_router
from services.pay.webhooks.endpoints import router as webhooks_router


def create_app(settings: PaySettings | None = None) -> FastAPI:
    settings = settings or PaySettings()
    settings.register_encryption()

    async def start(app: FastAPI) -> None:
        state = app.state
        state.jobs = JobQueue.from_redis(state.redis, "pay")
        state.accounts = AccountRecords(state.db, state.redis)
        state.following = asyncio.create_task(state.accounts.follow(), name="pay-accounts")
        receipts.announce(settings, "api")

    async def stop(app: FastAPI) -> None:
        app.state.following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.following
        # Authorisations the pages started record their outcome before the database goes away.
        await app.state.authorisations.drain(settings.authorisation_timeout_seconds)

    app = build_app(
        Component(
            name="pay",
            settings=settings,
            family="pay",
            routers=[
                payments_router,
                refunds_router,
                agreements_router,
                disputes_router,
                disputes_internal_router,
                moto_router,
                internal_router,
                usage_router,
                webhooks_router,
                links_internal_router,
                pages_router,
                links_pages_router,
            ],
            on_startup=[start],
            on_shutdown=[stop],
            title="GaaP pay",
            description="Card payments wire-compatible with GOV.UK Pay's v1 API.",
        )
    )
    app.state.providers = build_providers(settings)
    app.state.authorisations = Authorisations()
    install_pages(
        app,
        secret=settings.token_secret.get_secret_value().encode(),
        session_max_age=settings.payment_lifetime_seconds,
    )
    return app
