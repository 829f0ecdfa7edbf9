"""Webhook and callback signatures: HMAC-SHA256 over `<timestamp>.<raw body>`.

One grammar for every signed outbound call (pay's `Pay-Signature-V2`, notify's `X-Notify-Signature`):
`t=<unix seconds>,v1=<hex>[,v1=<hex>]`, one `v1` per live secret, so a secret can rotate with an overlap.
Each attempt is signed afresh with its own time, and receivers reject a `t` more than 300 s from their clock,
which bounds replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

DEFAULT_TOLERANCE_SECONDS = 300
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: Sequence[str | bytes], *, timestamp: int | None = None) -> str:
    """The header value for `body`, signed with every live secret (newest first)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={_digest(secret, t, body)}" for secret in secrets)])


def parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the timestamp is not an integer") from None
        elif name == "v1":
            if not _HEX_DIGEST.fullmatch(value):
                raise SignatureError("a v1 signature must be 64 lower-case hex digits")
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp")
    if not signatures:
        raise SignatureError("the signature header has no v1 signature")
    return timestamp, signatures


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str | bytes],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a signature header; returns its timestamp. Accepts if any `v1` matches any secret, compared in
    constant time."""
    if not header:
        raise SignatureError("no signature header")
    timestamp, signatures = parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("the signature timestamp is outside the tolerance")
    for secret in secrets:
        expected = _digest(secret, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return timestamp
    raise SignatureError("no signature matches")
