"""The pay API process: GOV.UK Pay-compatible payments (`/v1/*`) and hosted payment pages, behind the gateway."""

from __future__ import annotations

from fastapi import FastAPI

from gaap.app import Component, build_app
from services.pay.settings import PaySettings


def create_app(settings: PaySettings | None = None) -> FastAPI:
    return build_app(
        Component(
            name="pay",
            settings=settings or PaySettings(),
            family="pay",
            title="GaaP pay",
            description="Card payments with hosted payment pages, wire-compatible with GOV.UK Pay's v1 API.",
        )
    )
