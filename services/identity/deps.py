"""What identity builds once at start-up and every request shares, and the `Annotated` dependency that hands it
to endpoints (`op: Op`)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gaap.jobs import JobQueue
from services.identity.accounts.codes import Counters, Limit, OneTimeCodes
from services.identity.accounts.notify import NotifyClient
from services.identity.accounts.passwords import BreachedPasswords
from services.identity.clients.registry import ClientRegistry, RegisteredClient
from services.identity.keys.ring import KeyRing
from services.identity.oidc.limits import ClientLimits
from services.identity.oidc.server import OidcServer
from services.identity.oidc.store import GrantStore
from services.identity.oidc.subject import subject
from services.identity.proving.sources import Sources
from services.identity.sessions.store import SessionStore
from services.identity.settings import IdentitySettings


@dataclass
class Provider:
    settings: IdentitySettings
    keys: KeyRing
    clients: ClientRegistry
    grants: GrantStore
    sessions: SessionStore
    server: OidcServer
    codes: OneTimeCodes
    counters: Counters
    notify: NotifyClient
    breached: BreachedPasswords
    jobs: JobQueue
    sources: Sources
    limits: ClientLimits

    @property
    def issuer(self) -> str:
        return self.settings.issuer_url

    @property
    def lockout(self) -> Limit:
        return Limit(self.settings.password_max_failures, self.settings.lockout_seconds)

    @property
    def code_failures(self) -> Limit:
        return Limit(self.settings.account_code_max_failures, self.settings.lockout_seconds)

    @property
    def code_sends(self) -> Limit:
        return Limit(self.settings.code_sends_per_window, self.settings.lockout_seconds)

    def subject_for(self, client: RegisteredClient, user_id: str) -> str:
        salt = self.settings.subject_salt.get_secret_value().encode()
        return subject(salt, self.settings.subject_prefix, client.sector, user_id)


def derived_key(settings: IdentitySettings, purpose: str) -> bytes:
    """A key for one purpose, derived from the service's secret (codes, counters), so none is reused."""
    return hmac.new(settings.secret_key.get_secret_value().encode(), purpose.encode(), hashlib.sha256).digest()


async def _provider(request: Request) -> Provider:
    # `async`: FastAPI runs a plain `def` dependency in its thread pool, ~70 µs of CPU on every request.
    provider: Provider = request.app.state.identity
    return provider


Op = Annotated[Provider, Depends(_provider)]
