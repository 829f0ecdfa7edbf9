"""The payment's one-time tokens. Only their SHA-256 is ever stored.

- `next_url` tokens (§13.2): 130 random bits, a new one on every read of an open web payment.
- The MOTO token (§7): one per payment, single-use, shown in `auth_url_post` on every read while the payment is
  open. It is derived from the payment ID under `PAY_TOKEN_SECRET`, so it can be shown again without being stored.
"""

from __future__ import annotations

import hashlib

from gaap.crypto import keyed_hash, random_base32

NEXT_URL_TOKEN_CHARS = 26


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_next_url_token() -> str:
    return random_base32(NEXT_URL_TOKEN_CHARS)


def moto_token(secret: bytes, payment_id: str) -> str:
    return keyed_hash(secret, "gaap-pay/moto-auth/v1/" + payment_id)
