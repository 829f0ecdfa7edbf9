"""Key formats, generation and the cheap checks done before any database read.

- Notify: `{name}-{service_id}-{secret}`; clients parse from the right (`key[-73:-37]`, `key[-36:]`), so names may
  hold hyphens. The secret is a random UUID4 string and the HS256 key, used as text (notify spec §3.1).
- Pay: `api_{test|live}_` + 26 random characters (130 bits, 0-9a-v) + a 32-character checksum, the unpadded
  lower-case base32 of HMAC-SHA1(prefix + random, checksum secret): 67 characters (pay spec §3). The checksum
  lets the gateway reject garbage in constant time without touching the database.
- Admin tokens: `gaap_admin_` + 32 random characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from gaap.crypto import random_base32

PAY_PREFIXES = {"api_test_": "test", "api_live_": "live"}
PAY_KEY_LENGTH = 67
_PAY_RANDOM = re.compile(r"^[0-9a-v]{26}$")
ADMIN_PREFIX = "gaap_admin_"


def notify_key(name: str, service_id: uuid.UUID) -> tuple[str, str]:
    """A new Notify key and its secret."""
    secret = str(uuid.uuid4())
    return f"{name}-{service_id}-{secret}", secret


def _pay_checksum(body: str, secret: bytes) -> str:
    digest = hmac.new(secret, body.encode(), hashlib.sha1).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")


def pay_key(mode: str, checksum_secret: bytes) -> str:
    prefix = "api_live_" if mode == "live" else "api_test_"
    body = prefix + random_base32(26)
    return body + _pay_checksum(body, checksum_secret)


def pay_key_mode(key: str, checksum_secret: bytes) -> str | None:
    """The mode ("live"/"test") of a well-formed key with a valid checksum, else None."""
    if len(key) != PAY_KEY_LENGTH:
        return None
    mode = PAY_PREFIXES.get(key[:9])
    if mode is None or not _PAY_RANDOM.match(key[9:35]):
        return None
    if not hmac.compare_digest(_pay_checksum(key[:35], checksum_secret), key[35:]):
        return None
    return mode


def admin_token() -> str:
    return ADMIN_PREFIX + random_base32(32)
