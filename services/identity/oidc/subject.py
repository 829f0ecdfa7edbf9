"""Subject identifiers (spec §6.2): `prefix + base64url(HMAC-SHA256(salt, sector + "|" + user_id))`.

The salt never changes, so a user's `sub` at a sector is stable for ever; pairwise clients on different sectors see
unrelated values, so two relying parties cannot link a user by `sub`. Public clients share the sector "public".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid


def subject(salt: bytes, prefix: str, sector: str, user_id: uuid.UUID | str) -> str:
    mac = hmac.new(salt, f"{sector}|{user_id}".encode(), hashlib.sha256).digest()
    return prefix + base64.urlsafe_b64encode(mac).decode().rstrip("=")
