"""The gateway process: its own FastAPI app (console, admin API, assets, health) behind the forwarding front door."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from gaap.app import Component, build_app
from gaap.pages import Pages, assets_app, render_error_page
from gaap.ratelimit import GcraLimiter
from gateway.answers import Answers
from gateway.audit.endpoints import router as audit_router
from gateway.auth.credentials import CredentialStore
from gateway.console.endpoints import router as console_router
from gateway.console.keys import router as console_keys_router
from gateway.console.oidc import ConsoleRelyingParty, form_targets
from gateway.console.session import ConsoleCookies
from gateway.console.signin import router as console_sign_in_router
from gateway.front import GatewayFront
from gateway.keys.endpoints import router as keys_router
from gateway.keys.service import KeyMaterial
from gateway.limits import RatePolicies
from gateway.proxy import Forwarder
from gateway.settings import GatewaySettings
from gateway.sync.service import Pusher
from gateway.tenants.endpoints import router as tenants_router

log = structlog.get_logger("gateway.app")
CONSOLE_DIR = Path(__file__).parent / "console"
USAGE_FLUSH_SECONDS = 60.0


def create_app(settings: GatewaySettings | None = None) -> GatewayFront:
    settings = settings or GatewaySettings()
    settings.register_encryption()
    front_holder: dict[str, GatewayFront] = {}

    async def start(app: FastAPI) -> None:
        front = front_holder["front"]
        material: KeyMaterial = app.state.key_material
        store = CredentialStore(app.state.db, material, ttl=settings.credential_cache_ttl)
        forwarder = Forwarder(
            front.upstreams,
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_timeout,
            pool_size=settings.upstream_pool_size,
        )
        await forwarder.start()
        front.state.store = store
        front.state.forwarder = forwarder
        front.state.policies = RatePolicies(GcraLimiter(app.state.redis, cooldown=1.0), settings)
        front.state.signer = signer = settings.principal_signer()
        app.state.credential_store = store
        app.state.pusher = Pusher(app.state.db, front.upstreams, signer)
        app.state.background = [
            asyncio.create_task(store.listen_for_invalidations(app.state.redis)),
            asyncio.create_task(_flush_usage_forever(store)),
        ]

    async def stop(app: FastAPI) -> None:
        front = front_holder["front"]
        for task in getattr(app.state, "background", []):
            task.cancel()
        for task in getattr(app.state, "background", []):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if front.state.store is not None:
            with contextlib.suppress(Exception):
                await front.state.store.flush_usage()
        if front.state.forwarder is not None:
            await front.state.forwarder.close()
        if getattr(app.state, "pusher", None) is not None:
            await app.state.pusher.close()

    own = build_app(
        Component(
            name="gateway",
            settings=settings,
            family="platform",
            routers=[
                tenants_router,
                keys_router,
                audit_router,
                console_sign_in_router,
                console_router,
                console_keys_router,
            ],
            title="GaaP gateway admin API",
            on_startup=[start],
            on_shutdown=[stop],
        )
    )
    own.state.key_material = KeyMaterial.from_settings(settings)
    own.state.console_rp = ConsoleRelyingParty(settings)
    own.state.console_operators = settings.operator_emails
    own.state.console_cookies = ConsoleCookies(
        settings.csrf_secret.get_secret_value(),
        secure=not settings.platform.is_development,
        session_seconds=settings.console_session_seconds,
    )
    pages = Pages(
        [CONSOLE_DIR / "templates"],
        locale_dirs=[CONSOLE_DIR / "locale"],
        csrf_secret=settings.csrf_secret.get_secret_value(),
        secure=not settings.platform.is_development,
        service_name="GaaP console",
        service_url="/console",
        form_action=form_targets(settings),
    )
    pages.install(own, page_prefixes=("/console",))
    own.mount("/assets", assets_app())
    front = GatewayFront(own, settings, Answers(html_error=partial(_html_error, own)))
    front_holder["front"] = front
    own.state.front = front
    return front


async def _flush_usage_forever(store: CredentialStore) -> None:
    while True:
        await asyncio.sleep(USAGE_FLUSH_SECONDS)
        try:
            await store.flush_usage()
        except Exception as exc:  # the next flush tries again; last-used is advisory
            log.warning("could not record key usage", error=type(exc).__name__)


def _html_error(app: FastAPI, scope: Scope, status: int, retry_after: int | None) -> Response:
    """The gateway's own error page for a page path it could not forward (429, 503, ...)."""
    return render_error_page(Request({**scope, "app": app}), status, retry_after=retry_after)


def app_factory() -> Any:
    """For `uvicorn --factory gateway.app:app_factory`."""
    return create_app()
