"""Public IDs (pay spec §2): 26 characters of `0-9a-v`, 130 CSPRNG bits in base 32 (the kernel's
`random_base32`, which is exactly this format)."""

from __future__ import annotations

from gaap.crypto import random_base32

ALPHABET = "0123456789abcdefghijklmnopqrstuv"
LENGTH = 26
_CHARS = frozenset(ALPHABET)


def new_id() -> str:
    return random_base32(LENGTH)


def is_id(value: str) -> bool:
    """Whether `value` could be one of our IDs; a path ID that cannot is answered with the endpoint's 404."""
    return len(value) == LENGTH and _CHARS.issuperset(value)
