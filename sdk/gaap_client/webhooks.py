"""Checking what the platform sends you: Pay webhooks and Notify callbacks.

Both are signed the same way: a header `t=<unix seconds>,v1=<hex>[,v1=<hex>]` where each `v1` is the lower-case hex
HMAC-SHA256, under one of the service's signing secrets, of `<t>.<raw body>` (Pay's `Pay-Signature-V2`, Notify's
`X-Notify-Signature`). Each delivery attempt is signed afresh, so a `t` far from your clock is a replay. Pass the
raw body bytes exactly as received, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence

from gaap_client.errors import InvalidSignature

HEADERS = ("pay-signature-v2", "x-notify-signature")
DEFAULT_TOLERANCE_SECONDS = 300
_HEX = re.compile(r"[0-9a-f]{64}")


def _parse(value: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            raise InvalidSignature("malformed signature header")
        if name == "t":
            if not item.isdigit():
                raise InvalidSignature("the signature's timestamp is not a number")
            timestamp = int(item)
        elif name == "v1" and _HEX.fullmatch(item):
            signatures.append(item)
    if timestamp is None or not signatures:
        raise InvalidSignature("the signature header needs t= and at least one v1=")
    return timestamp, signatures


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a Pay webhook or a Notify callback; returns its signing time, or raises `InvalidSignature`.

    `secret` may be a list: during a rotation, pass both the new and the old secret."""
    lowered = {name.lower(): value for name, value in headers.items()}
    header = next((lowered[name] for name in HEADERS if name in lowered), None)
    if header is None:
        raise InvalidSignature("no Pay-Signature-V2 or X-Notify-Signature header")
    timestamp, signatures = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("the signature is too old (or from the future): a replay, or a wrong clock")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    signed = str(timestamp).encode("ascii") + b"." + body
    for candidate_secret in secrets:
        expected = hmac.new(candidate_secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return timestamp
    raise InvalidSignature("no signature matches the secret")
