"""The identity API process: an OpenID Connect provider modelled on GOV.UK One Login, behind the gateway."""

from __future__ import annotations

from fastapi import FastAPI

from gaap.app import Component, build_app
from services.identity.settings import IdentitySettings


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    return build_app(
        Component(
            name="identity",
            settings=settings or IdentitySettings(),
            family="oauth",
            title="GaaP identity",
            description="OpenID Connect provider with sign-in levels and identity proving.",
        )
    )
