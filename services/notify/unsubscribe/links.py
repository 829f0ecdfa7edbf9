"""The unsubscribe links notify makes (notify spec §13.3): `<root>unsubscribe/<notification_id>/<token>`.

The token is the notification id, the recipient's address and an expiry (one year), sealed with AES-GCM under the
notify keyring with associated data of its own: it proves notify made the link for that email, keeps the address
out of server logs and browser history, and still names the address after retention has removed the
notification. The keyring's key id travels in the token, so rotation keeps old links working.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass

from gaap.crypto import DecryptionError, SecretBox

VALID_FOR_SECONDS = 365 * 24 * 3600
_ASSOCIATED = b"gaap-notify/unsubscribe/v1"


@functools.lru_cache(maxsize=4)
def _box(keyring: str) -> SecretBox:
    return SecretBox(keyring, associated=_ASSOCIATED)


def unsubscribe_link(root: str, keyring: str, notification_id: uuid.UUID, email_address: str) -> str:
    expires = int(time.time()) + VALID_FOR_SECONDS
    token = _box(keyring).encrypt(f"{notification_id}\n{expires}\n{email_address}")
    return f"{root}unsubscribe/{notification_id}/{token}"


@dataclass(frozen=True)
class LinkHolder:
    notification_id: uuid.UUID
    email_address: str


def read_token(keyring: str, notification_id: uuid.UUID, token: str) -> LinkHolder | None:
    """Who the link was made for, or None when it is not a live link notify made for this notification."""
    if len(token) > 1024:
        return None
    try:
        ident, expires, address = _box(keyring).decrypt(token).split("\n", 2)
    except (DecryptionError, ValueError):
        return None
    if ident != str(notification_id) or not expires.isdigit() or int(expires) < time.time():
        return None
    return LinkHolder(notification_id, address)
