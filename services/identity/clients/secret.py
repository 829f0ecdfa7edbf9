"""Client secrets (spec §6): for relying parties registered with `client_secret_post` or `client_secret_basic`.

Identity makes each secret itself (256 random bits, `secrets.token_urlsafe(32)`), hands it over once through the
internal API for the console to show, and keeps only its HMAC-SHA256 under `IDENTITY_CLIENT_SECRET_PEPPER`
(ARCHITECTURE rule 6): a high-entropy secret needs no slow hash, so checking one at `/token` costs a few
microseconds, and a copy of the database alone gives nothing that `/token` accepts. Presented secrets are compared
in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from gaap.crypto import keyed_hash

PRIVATE_KEY_JWT = "private_key_jwt"
#: The token endpoint methods that authenticate with a client secret (never allowed with P1 or P2, spec §5.2).
SECRET_METHODS = frozenset({"client_secret_post", "client_secret_basic"})
#: Random bytes in a new secret (spec §6: at least 256 bits).
SECRET_BYTES = 32


@dataclass(frozen=True)
class ClientSecrets:
    """Makes client secrets and checks presented ones against their stored keyed hashes."""

    pepper: bytes = field(repr=False)

    def new(self) -> tuple[str, str]:
        """A new secret and the keyed hash to store in its place."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        return secret, self.digest(secret)

    def digest(self, secret: str) -> str:
        return keyed_hash(self.pepper, secret)

    def matches(self, secret: str, stored: str | None) -> bool:
        """Whether `secret` is the one whose hash is `stored`; never for a client that has no secret yet."""
        return stored is not None and hmac.compare_digest(self.digest(secret), stored)
