"""Each process's copy of the published keys, re-read every `key_refresh_seconds`.

Signing needs the active private key on every token request, and the JWKS on every discovery fetch; reading them
from the database each time would put a query on the hottest path. A promotion reaches every process within the
refresh period; meanwhile a process signs with the key that was active, which stays published (retired), so every
token it signs still verifies.

Parsing a private key is paid once per process and key: a 3072-bit RSA key takes joserfc (through `cryptography`,
which checks the key) about 0.2 s, so each reload keeps the parsed keys of the snapshot before it, by `kid` (a
thumbprint of the key, so a `kid` never names other key material), and a key new to the process is parsed on a
worker thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

from gaap.db.engine import Database
from services.identity.keys.models import ACTIVE, SigningKey
from services.identity.keys.service import published


@dataclass(frozen=True)
class SigningKeyPair:
    kid: str
    alg: str
    private: ECKey | RSAKey


@dataclass(frozen=True)
class KeySnapshot:
    """The keys as read at one moment: immutable, shared by every request of the process."""

    active: dict[str, SigningKeyPair]
    #: Public JWKs of every published key (standby, active, retired), by set.
    public: dict[str, list[dict[str, Any]]]

    def signer(self, key_set: str) -> SigningKeyPair:
        return self.active[key_set]

    def jwks(self, *key_sets: str) -> dict[str, Any]:
        """The public JWKs of the sets named, as one JWKS."""
        return {"keys": [jwk for key_set in key_sets for jwk in self.public.get(key_set, [])]}

    def verification_keys(self, *key_sets: str) -> KeySet:
        return KeySet.import_key_set(self.jwks(*key_sets))  # type: ignore[arg-type]

    @classmethod
    def of(cls, keys: list[SigningKey], previous: KeySnapshot | None = None) -> KeySnapshot:
        """The snapshot of `keys`; active keys already parsed in `previous` are taken from it, not parsed again."""
        parsed = {pair.kid: pair for pair in previous.active.values()} if previous is not None else {}
        active: dict[str, SigningKeyPair] = {}
        public: dict[str, list[dict[str, Any]]] = {}
        for key in sorted(keys, key=lambda k: k.created_at):
            public.setdefault(key.key_set, []).append(dict(key.public_jwk))
            if key.state == ACTIVE:
                pair = parsed.get(key.kid)
                if pair is None:
                    private = import_key(json.loads(key.private_jwk))
                    if not isinstance(private, ECKey | RSAKey):
                        raise ValueError(f"signing key {key.kid} is neither an EC nor an RSA key")
                    pair = SigningKeyPair(key.kid, key.alg, private)
                active[key.key_set] = pair
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
        """Read the keys again at the next use (after an operator's key command in this process), keeping the
        parsed private keys."""
        self._read_at = float("-inf")

    async def reload(self) -> KeySnapshot:
        async with self.db.read_session() as session:
            keys = await published(session)
            # On a worker thread: parsing a newly active RSA key would hold the event loop for a fraction of a second.
            self._snapshot = await asyncio.to_thread(KeySnapshot.of, keys, self._snapshot)
        self._read_at = self.clock()
        return self._snapshot
