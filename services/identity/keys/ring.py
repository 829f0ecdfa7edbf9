"""Each process's copy of the published keys, re-read every `key_refresh_seconds`.

Signing needs the active private key on every token request, and the JWKS on every discovery fetch; reading them
from the database each time would put a query on the hottest path. A promotion reaches every process within the
refresh period; meanwhile a process signs with the key that was active, which stays published (retired), so every
token it signs still verifies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, KeySet

from gaap.db.engine import Database
from services.identity.keys.models import ACTIVE, SigningKey
from services.identity.keys.service import published


@dataclass(frozen=True)
class SigningKeyPair:
    kid: str
    alg: str
    private: ECKey


@dataclass(frozen=True)
class KeySnapshot:
    """The keys as read at one moment: immutable, shared by every request of the process."""

    active: dict[str, SigningKeyPair]
    #: Public JWKs of every published key (standby, active, retired), by set.
    public: dict[str, list[dict[str, Any]]]

    def signer(self, key_set: str) -> SigningKeyPair:
        return self.active[key_set]

    def jwks(self, key_set: str) -> dict[str, Any]:
        return {"keys": self.public.get(key_set, [])}

    def verification_keys(self, key_set: str) -> KeySet:
        return KeySet.import_key_set(self.jwks(key_set))  # type: ignore[arg-type]

    @classmethod
    def of(cls, keys: list[SigningKey]) -> KeySnapshot:
        active: dict[str, SigningKeyPair] = {}
        public: dict[str, list[dict[str, Any]]] = {}
        for key in sorted(keys, key=lambda k: k.created_at):
            public.setdefault(key.key_set, []).append(dict(key.public_jwk))
            if key.state == ACTIVE:
                private = ECKey.import_key(json.loads(key.private_jwk))
                active[key.key_set] = SigningKeyPair(key.kid, key.alg, private)
        return cls(active, public)


class KeyRing:
    def __init__(self, db: Database, refresh_seconds: float, clock: Any = time.monotonic) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._snapshot: KeySnapshot | None = None
        self._read_at = 0.0

    async def current(self) -> KeySnapshot:
        if self._snapshot is None or self.clock() - self._read_at >= self.refresh_seconds:
            await self.reload()
        assert self._snapshot is not None
        return self._snapshot

    def expire(self) -> None:
        """Read the keys again at the next use (after an operator's key command in this process)."""
        self._snapshot = None

    async def reload(self) -> KeySnapshot:
        async with self.db.read_session() as session:
            self._snapshot = KeySnapshot.of(await published(session))
        self._read_at = self.clock()
        return self._snapshot
