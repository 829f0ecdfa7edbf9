"""Each process's view of the client records, and of the keys relying parties sign their assertions with.

`/authorize` and `/token` read the client on every request, so records come from a short-lived per-process cache
(`gaap.cache.LocalCache`) that every process drops at once when a push is announced on Redis. Authlib reads a client
through the `ClientMixin` methods below; the snapshot is immutable, so requests can share it.

Keys of `JWKS` clients are fetched from their `JwksUrl` (200 within 5 s, at most 64 KiB), cached per their
`Cache-Control` clamped to 5 minutes–24 hours, and refetched once on an unknown `kid`, at most once a minute per
client, so a relying party can rotate its keys without telling us (spec §6, R2).

A client-secret client's record carries the keyed hash of its secret, checked with the registry's `ClientSecrets`
(which hold the pepper); a new secret is announced like a push, so no process keeps accepting the old one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from redis.asyncio import Redis
from sqlalchemy import select

from gaap.cache import LocalCache, announce
from gaap.db.engine import Database
from gaap.logging import get_logger
from services.identity.clients.models import Client
from services.identity.clients.secret import ClientSecrets
from services.identity.clients.validation import InvalidClient, checked_jwks

log = get_logger("identity.clients")
CHANNEL = "gaap:identity:clients"
JWKS_MAX_BYTES = 64 * 1024
JWKS_MIN_TTL, JWKS_MAX_TTL, REFETCH_EVERY = 300.0, 86_400.0, 60.0


@dataclass(frozen=True)
class RegisteredClient:
    """A client record as `/authorize`, `/token` and Authlib read it."""

    client_id: str
    service_id: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    backchannel_logout_uri: str | None
    scopes: frozenset[str]
    claims: frozenset[str]
    levels_of_confidence: frozenset[str]
    identity_verification_supported: bool
    id_token_signed_response_alg: str
    token_auth_method: str
    public_jwks: dict[str, Any] | None
    jwks_url: str | None
    sector: str
    pkce_enforced: bool
    permit_missing_nonce: bool
    max_age_enabled: bool
    active: bool
    default_vtr: str | None
    #: Authorization requests must come as signed request objects (spec §5.3).
    jar_validation_required: bool
    #: `public_jwks` parsed once per cached record: `/token` verifies every assertion against it, and parsing a key
    #: set costs about as much as the verification itself. Dropped with the record when it changes.
    static_keys: KeySet | None = field(default=None, compare=False, repr=False)
    #: The keyed hash of the client's secret (client-secret methods, once identity has made one), and what checks a
    #: presented secret against it (the pepper stays with the registry's `ClientSecrets`).
    client_secret_hash: str | None = field(default=None, repr=False)
    secrets: ClientSecrets | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, row: Client, secrets: ClientSecrets | None = None) -> RegisteredClient:
        return cls(
            client_id=row.client_id,
            service_id=str(row.service_id),
            redirect_uris=tuple(row.redirect_uris),
            post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
            backchannel_logout_uri=row.backchannel_logout_uri,
            scopes=frozenset(row.scopes),
            claims=frozenset(row.claims),
            levels_of_confidence=frozenset(row.levels_of_confidence),
            identity_verification_supported=row.identity_verification_supported,
            id_token_signed_response_alg=row.id_token_signing_alg,
            token_auth_method=row.token_auth_method,
            public_jwks=row.public_jwks,
            jwks_url=row.jwks_url,
            sector=row.sector,
            pkce_enforced=row.pkce_enforced,
            permit_missing_nonce=row.permit_missing_nonce,
            max_age_enabled=row.max_age_enabled,
            active=row.active,
            default_vtr=row.default_vtr,
            jar_validation_required=row.jar_validation_required,
            static_keys=_parsed(row.client_id, row.public_jwks) if row.public_jwks is not None else None,
            client_secret_hash=row.client_secret_hash,
            secrets=secrets,
        )

    # Authlib's ClientMixin.
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secrets is not None and self.secrets.matches(client_secret, self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _FetchedKeys:
    keys: KeySet
    fresh_until: float
    fetched_at: float


class ClientRegistry:
    def __init__(
        self,
        db: Database,
        redis: Redis,
        *,
        secrets: ClientSecrets,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.redis = redis
        self.secrets = secrets
        self.cache = LocalCache(ttl=5.0)
        self.http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self.clock = clock
        self._jwks: dict[str, _FetchedKeys] = {}

    async def get(self, client_id: str) -> RegisteredClient | None:
        async def load() -> RegisteredClient | None:
            async with self.db.read_session() as session:
                row = (await session.execute(select(Client).where(Client.client_id == client_id))).scalar_one_or_none()
                return RegisteredClient.of(row, self.secrets) if row is not None else None

        return await self.cache.get(client_id, load)

    async def changed(self, client_ids: list[str]) -> None:
        for client_id in client_ids:
            self.cache.forget(client_id)
            self._jwks.pop(client_id, None)
            await announce(self.redis, CHANNEL, client_id.encode())

    async def follow(self) -> None:
        """Follow other processes' announcements until cancelled."""
        await self.cache.follow(self.redis, CHANNEL, lambda raw: raw.decode())

    async def keys_for(self, client: RegisteredClient, kid: str | None = None) -> KeySet:
        """The client's public keys; for a `JWKS` client, refetched when `kid` is unknown (at most once a minute).
        Empty for a client-secret client registered without a key."""
        if client.public_jwks is not None:
            return (
                client.static_keys if client.static_keys is not None else _parsed(client.client_id, client.public_jwks)
            )
        if client.jwks_url is None:
            return KeySet([])
        now = self.clock()
        held = self._jwks.get(client.client_id)
        refetch = held is None or now >= held.fresh_until
        if held is not None and not refetch and kid is not None and not any(k.kid == kid for k in held.keys):
            refetch = now - held.fetched_at >= REFETCH_EVERY
        if refetch:
            try:
                held = await self._fetch(client.client_id, client.jwks_url)
            except (httpx.HTTPError, InvalidClient, ValueError) as exc:
                log.warning("identity.jwks_fetch_failed", client_id=client.client_id, error=str(exc)[:200])
        return held.keys if held is not None else KeySet([])

    async def _fetch(self, client_id: str, url: str) -> _FetchedKeys:
        async with self.http.stream("GET", url) as response:
            if response.status_code != 200:
                raise ValueError(f"JwksUrl answered {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > JWKS_MAX_BYTES:
                    raise ValueError("JWKS over 64 KiB")
            ttl = _max_age(response.headers.get("cache-control", ""))
        document = httpx.Response(200, content=body).json()
        keys = checked_jwks(None, document.get("keys") if isinstance(document, dict) else None)
        now = self.clock()
        fetched = _FetchedKeys(KeySet.import_key_set({"keys": keys}), now + ttl, now)
        self._jwks[client_id] = fetched
        return fetched


def _parsed(client_id: str, jwks: dict[str, Any]) -> KeySet:
    """A static key set as joserfc uses it. Pushes are validated (`checked_jwks`), so a set that does not parse is
    a record older than a rule: it is logged, and every assertion is refused as unverifiable."""
    try:
        return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        log.warning("identity.client_keys_unreadable", client_id=client_id, error=str(exc)[:200])
        return KeySet([])


def _max_age(cache_control: str) -> float:
    match = re.search(r"max-age=(\d+)", cache_control)
    seconds = float(match.group(1)) if match else JWKS_MIN_TTL
    return min(max(seconds, JWKS_MIN_TTL), JWKS_MAX_TTL)
