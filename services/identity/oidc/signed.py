"""Verifying what a relying party signs with its registered keys: client assertions (spec §6) and request objects
(§5.3) follow the same rules, written once here.

The algorithms are passed to joserfc explicitly, so `none` and `HS256` (joserfc's recommended set admits the latter)
are never accepted. A `kid` header picks its key; without one, or with one the registered keys do not name, each key
of the algorithm's type is tried, at most `MAX_KEYS_TRIED` of them (R2: assertions without `kid` keep working).
"""

from __future__ import annotations

from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

#: The algorithms relying parties may sign with (spec §4, §6): never `none` or `HS256`.
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"]
MAX_KEYS_TRIED = 5


def header_of(token: str) -> dict[str, Any] | None:
    """The protected header of a compact JWS, or None when it is not one."""
    try:
        return dict(jws.extract_compact(token.encode()).headers())
    except (JoseError, ValueError, UnicodeError):
        return None


def decode_with(token: str, keys: KeySet, header: dict[str, Any]) -> dict[str, Any] | None:
    """The claims of `token` when one of `keys` verifies it under an allowed algorithm; None otherwise."""
    if header.get("alg") not in SIGNING_ALGORITHMS:
        return None
    kid = header.get("kid")
    candidates = [k for k in keys.keys if kid is not None and k.kid == kid]
    if not candidates:
        kty = {"E": "EC", "R": "RSA", "P": "RSA"}[str(header["alg"])[:1]]
        candidates = [k for k in keys.keys if k.key_type == kty][:MAX_KEYS_TRIED]
    for key in candidates:
        try:
            return dict(jwt.decode(token, key, algorithms=SIGNING_ALGORITHMS).claims)
        except (JoseError, ValueError):
            continue
    return None
