"""Passwords (spec §9.3): NIST SP 800-63B rules, an offline breached-password check, and Argon2id.

- 8 to 256 characters after Unicode NFKC normalisation, spaces allowed, no composition rules, not the email address.
- Refused when the uppercase SHA-1 of the password is in the breached list: sorted `HASH[:COUNT]` lines searched by
  binary search on the file, so the bundled 30,000-password list and the full Pwned Passwords download work alike,
  with no network call.
- Hashed with Argon2id at argon2-cffi's defaults (t=3, m=64 MiB, p=4), in a worker thread: one hash takes tens of
  milliseconds of CPU, which must not stall the event loop. A hash made with older parameters is replaced at the
  next successful sign-in.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

from services.identity.i18n import N_

MIN_LENGTH, MAX_LENGTH = 8, 256
_hasher = PasswordHasher()
#: Verified against when the email has no account, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(os.urandom(16).hex())


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


class BreachedPasswords:
    """Membership in a sorted file of SHA-1 hashes, by binary search over byte offsets."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size

    def __contains__(self, password: str) -> bool:
        target = hashlib.sha1(normalise(password).encode()).hexdigest().upper().encode()  # noqa: S324
        with self.path.open("rb") as f:

            def line_from(position: int) -> tuple[int, bytes]:
                """The first whole line starting at or after `position`, and where it starts."""
                f.seek(max(0, position - 1))
                if position:
                    f.readline()
                start = f.tell()
                return start, f.readline()

            # Find the first line not below the target; `low` and `high` bound where it starts.
            low, high = 0, self.size
            while low < high:
                middle = (low + high) // 2
                start, line = line_from(middle)
                if not line or line[:40] >= target:
                    high = middle
                else:
                    low = start + len(line)
            return line_from(low)[1][:40] == target


def problem_with(password: str, email: str, breached: BreachedPasswords) -> str | None:
    """The message id of the first rule the password breaks, or None."""
    text = normalise(password)
    if len(text) < MIN_LENGTH:
        return N_("Your password must be at least 8 characters")
    if len(text) > MAX_LENGTH:
        return N_("Your password must be 256 characters or fewer")
    if text.strip().lower() == email.strip().lower():
        return N_("Your password must not be your email address")
    if text in breached:
        return N_("Enter a different password: this one is too easy to guess, it appears in lists of leaked passwords")
    return None


def is_breached(password: str, breached: BreachedPasswords) -> bool:
    """Whether the password is on the breached list (checked at sign-in too: the list may have grown, §9.3)."""
    return normalise(password) in breached


async def hash_password(password: str) -> str:
    return await run_in_threadpool(_hasher.hash, normalise(password))


async def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a replacement hash when the stored one used older parameters."""

    def check() -> tuple[bool, str | None]:
        try:
            _hasher.verify(stored or _DUMMY_HASH, normalise(password))
        except (VerificationError, InvalidHashError):
            return False, None
        if stored is None:
            return False, None
        return True, _hasher.hash(normalise(password)) if _hasher.check_needs_rehash(stored) else None

    return await run_in_threadpool(check)
