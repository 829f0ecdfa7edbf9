"""The notify API process: GOV.UK Notify-compatible sending (`/v2/*`), behind the gateway."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from gaap.app import Component, build_app
from gaap.crypto import SecretBox, register_box
from gaap.jobs import JobQueue
from services.notify.callbacks.log import router as callbacks_router
from services.notify.callbacks.secrets import router as callback_secrets_router
from services.notify.documents.endpoints import router as documents_router
from services.notify.documents.pages import install_pages
from services.notify.inbound.endpoints import router as inbound_router
from services.notify.inbound.endpoints import webhook as inbound_webhook_router
from services.notify.inbox.endpoints import router as inbox_router
from services.notify.jobs.endpoints import router as jobs_router
from services.notify.letters.endpoints import router as letters_router
from services.notify.letters.scanning import ScannerSettings, build_scanner
from services.notify.limits.counters import DailyCounts
from services.notify.limits.endpoints import router as limits_router
from services.notify.notifications.endpoints import router as notifications_router
from services.notify.notifications.service import SendContext
from services.notify.notifications.writer import NotificationWriter
from services.notify.receipts.endpoints import router as receipts_router
from services.notify.records import Records
from services.notify.settings import NotifySettings
from services.notify.templates.endpoints import manage as manage_templates_router
from services.notify.templates.endpoints import router as templates_router
from services.notify.tenancy.endpoints import router as internal_router
from services.notify.unsubscribe.endpoints import api as unsubscribe_api_router
from services.notify.unsubscribe.endpoints import pages as unsubscribe_pages_router
from services.notify.usage.endpoints import router as usage_router


def register_keyring(settings: NotifySettings) -> None:
    """Encrypted columns (personalisation, content) use this process's notify keyring."""
    register_box("notify", SecretBox(settings.encryption_keys.get_secret_value(), associated=b"gaap-notify"))


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    register_keyring(settings)

    async def start(app: FastAPI) -> None:
        state = app.state
        state.jobs = JobQueue.from_redis(state.redis, "notify")
        state.records = Records(state.db, state.redis)
        state.counts = DailyCounts(state.redis)
        # Files sent by email are scanned in the request (§12), with the letters' scanner settings.
        scanner = build_scanner(ScannerSettings(), settings.platform)
        state.sending = SendContext(state.counts, state.records, settings, scanner=scanner)
        state.writer = NotificationWriter(state.db, state.counts, state.jobs)
        state.following = asyncio.create_task(state.records.follow(), name="notify-records")

    async def stop(app: FastAPI) -> None:
        app.state.following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.following
        await app.state.writer.close()

    app = build_app(
        Component(
            name="notify",
            settings=settings,
            family="notify",
            routers=[
                limits_router,
                callbacks_router,
                jobs_router,
                notifications_router,
                letters_router,
                inbound_router,
                inbound_webhook_router,
                inbox_router,
                receipts_router,
                templates_router,
                manage_templates_router,
                internal_router,
                unsubscribe_api_router,
                unsubscribe_pages_router,
                documents_router,
                usage_router,
                callback_secrets_router,
            ],
            on_startup=[start],
            on_shutdown=[stop],
            title="GaaP notify",
            description="Email, text message and letter sending, wire-compatible with GOV.UK Notify's v2 API.",
        )
    )
    install_pages(app, settings)  # the file download and unsubscribe pages
    return app
