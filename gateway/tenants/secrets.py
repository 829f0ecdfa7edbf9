"""Secrets among a service's component settings: sealed at rest, opened only on the way to their component.

A department's callback bearer tokens live in `Service.settings` and in the push documents made from it. Both are
stored with each secret sealed (AES-GCM with the gateway's `key_encryption_keys`, `gaap.crypto.SecretBox`), so a
copy of the gateway's database alone reveals none of them. The pusher opens them just before it sends a document to
its component over the internal API; the component stores them encrypted again with its own keyring. The console only
asks whether a secret is set, and the audit log and the admin API show `[redacted]` in its place.

Sealing is idempotent (a sealed value is left as it is) and opening leaves a plain value alone, so settings written
before secrets were sealed keep working and are sealed the next time they are saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaap.crypto import registered_box

#: Keys of a component's settings whose values are secrets.
SECRET_SETTINGS = frozenset({"bearer_token"})
#: The keyring name the gateway registers at start-up (`GatewaySettings.register_encryption`).
BOX = "gateway-settings"
_SEALED = "sealed:"


def _map_secrets(value: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(value, dict):
        return {
            k: change(v) if k in SECRET_SETTINGS and isinstance(v, str) and v else _map_secrets(v, change)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_secrets(item, change) for item in value]
    return value


def _seal(secret: str) -> str:
    return secret if secret.startswith(_SEALED) else _SEALED + registered_box(BOX).encrypt(secret)


def _open(secret: str) -> str:
    return registered_box(BOX).decrypt(secret.removeprefix(_SEALED)) if secret.startswith(_SEALED) else secret


def sealed(value: Any) -> Any:
    """`value` with every secret setting sealed, for storing."""
    return _map_secrets(value, _seal)


def opened(value: Any) -> Any:
    """`value` with every sealed secret opened, for sending to its component."""
    return _map_secrets(value, _open)


def same_settings(a: Any, b: Any) -> bool:
    """Whether two settings say the same, whichever of their secrets are sealed (each sealing is different)."""
    return bool(opened(a) == opened(b))


def redacted(value: Any) -> Any:
    """`value` with every secret setting masked, for the audit log and the admin API."""
    return _map_secrets(value, lambda _secret: "[redacted]")
