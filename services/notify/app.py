"""The notify API process: GOV.UK Notify-compatible sending (`/v2/*`), behind the gateway."""

from __future__ import annotations

from fastapi import FastAPI

from gaap.app import Component, build_app
from services.notify.settings import NotifySettings
from services.notify.tenancy.endpoints import router as internal_router


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return build_app(
        Component(
            name="notify",
            settings=settings or NotifySettings(),
            family="notify",
            routers=[internal_router],
            title="GaaP notify",
            description="Email, text message and letter sending, wire-compatible with GOV.UK Notify's v2 API.",
        )
    )
