"""The identity API process: an OpenID Connect provider modelled on GOV.UK One Login, behind the gateway."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from gaap.app import Component, build_app
from gaap.jobs import JobQueue
from gaap.pages import Pages
from services.identity.accounts.change_email import router as change_email_pages
from services.identity.accounts.change_factor import router as change_factor_pages
from services.identity.accounts.change_password import router as change_password_pages
from services.identity.accounts.codes import Counters, OneTimeCodes
from services.identity.accounts.delete_account import router as delete_account_pages
from services.identity.accounts.endpoints import router as account_pages
from services.identity.accounts.enrolment import router as enrolment_pages
from services.identity.accounts.lost_factor import router as lost_factor_pages
from services.identity.accounts.lost_factor_kbv import router as lost_factor_identity_pages
from services.identity.accounts.notify import NotifyClient
from services.identity.accounts.passwords import BreachedPasswords
from services.identity.accounts.proven_identity import router as proven_identity_pages
from services.identity.accounts.recovery import router as recovery_pages
from services.identity.clients.endpoints import router as internal_router
from services.identity.clients.registry import ClientRegistry
from services.identity.clients.secret import ClientSecrets
from services.identity.deps import Provider, derived_key
from services.identity.i18n import N_
from services.identity.keys.ring import KeyRing
from services.identity.keys.service import ensure_key_sets
from services.identity.logout.endpoints import router as logout_pages
from services.identity.oidc.documentation import router as documentation_pages
from services.identity.oidc.endpoints import api as oidc_api
from services.identity.oidc.endpoints import pages as oidc_pages
from services.identity.oidc.errors import DocumentedOAuthFamily
from services.identity.oidc.limits import ClientLimits
from services.identity.oidc.server import OidcServer
from services.identity.oidc.store import GrantStore
from services.identity.oidc.vocab import router as vocabulary_api
from services.identity.proving.endpoints import router as proving_pages
from services.identity.proving.sources import build_sources
from services.identity.sessions.breached import router as breached_pages
from services.identity.sessions.endpoints import router as sign_in_pages
from services.identity.sessions.store import SessionStore
from services.identity.settings import IdentitySettings
from services.identity.usage.endpoints import router as usage_router

HERE = Path(__file__).resolve().parent
PAGE_PREFIXES = ("/identity/", "/authorize", "/logout")


async def ensure_keys(app: FastAPI) -> None:
    """Give every key set its active key and standby at first start. Two processes starting together may race;
    the loser's insert breaks the one-active-key index and it simply finds the winner's keys."""
    with contextlib.suppress(IntegrityError):
        async with app.state.db.write_session() as session:
            await ensure_key_sets(session)


def build_provider(app: FastAPI, settings: IdentitySettings) -> Provider:
    db, redis = app.state.db, app.state.redis
    return Provider(
        settings=settings,
        keys=KeyRing(db, settings.key_refresh_seconds),
        clients=ClientRegistry(
            db, redis, secrets=ClientSecrets(settings.client_secret_pepper.get_secret_value().encode())
        ),
        grants=GrantStore(redis, used_code_ttl=settings.auth_code_ttl + settings.access_token_ttl + 60),
        sessions=SessionStore(
            redis,
            idle_ttl=settings.session_idle_ttl,
            max_ttl=settings.session_max_ttl,
            secure=settings.cookies_secure,
        ),
        server=OidcServer(
            access_token_ttl=settings.access_token_ttl,
            id_token_ttl=settings.id_token_ttl,
            assertion_leeway=settings.assertion_leeway,
        ),
        codes=OneTimeCodes(
            redis,
            derived_key(settings, "codes"),
            ttl=settings.code_ttl_seconds,
            max_failures=settings.code_max_failures,
        ),
        counters=Counters(redis, derived_key(settings, "counters")),
        notify=NotifyClient(
            settings.notify_url,
            settings.notify_api_key.get_secret_value(),
            timeout=settings.notify_timeout_seconds,
            template_id=settings.notify_template_email_code,
            sms_template_id=settings.notify_template_sms_code,
            notice_template_id=settings.notify_template_account_notice,
        ),
        breached=BreachedPasswords(settings.breached_passwords_file),
        jobs=JobQueue.from_redis(redis, "identity"),
        sources=build_sources(settings),
        limits=ClientLimits(redis, settings),
    )


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    settings.register_encryption()
    tasks: list[asyncio.Task[None]] = []

    async def start(app: FastAPI) -> None:
        await ensure_keys(app)
        provider = app.state.identity = build_provider(app, settings)
        await provider.keys.reload()
        tasks.append(asyncio.create_task(provider.clients.follow()))

    async def stop(app: FastAPI) -> None:
        for task in tasks:
            task.cancel()
        provider: Provider = app.state.identity
        await provider.notify.close()
        await provider.clients.http.aclose()

    app = build_app(
        Component(
            name="identity",
            settings=settings,
            family=DocumentedOAuthFamily(lambda: settings.issuer_url),
            routers=[
                oidc_api,
                vocabulary_api,
                oidc_pages,
                documentation_pages,
                sign_in_pages,
                account_pages,
                enrolment_pages,
                recovery_pages,
                lost_factor_pages,
                lost_factor_identity_pages,
                change_email_pages,
                change_password_pages,
                change_factor_pages,
                proven_identity_pages,
                delete_account_pages,
                breached_pages,
                proving_pages,
                logout_pages,
                internal_router,
                usage_router,
            ],
            on_startup=[start],
            on_shutdown=[stop],
            title="GaaP identity",
            description="OpenID Connect provider with sign-in levels.",
        )
    )
    pages = Pages(
        [HERE / "templates"],
        locale_dirs=[HERE / "locale"],
        csrf_secret=derived_key(settings, "csrf"),
        secure=settings.cookies_secure,
        service_name=N_("Sign in to GOV.UK"),
        service_url="/identity/account",
    )
    pages.install(app, page_prefixes=PAGE_PREFIXES)
    return app
