"""TOTP (RFC 6238, spec §9.2): HMAC-SHA1, 6 digits, 30-second steps, one step either side accepted.

A time step cannot be used twice: the caller stores the counter of the last code accepted and passes it back, so a
code seen over someone's shoulder is worthless once used. The enrolment QR code is an inline SVG (no script, no
image request), and the secret is also shown as base32 for typing in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from urllib.parse import quote, urlencode

import segno

STEP, DIGITS, WINDOW = 30, 6, 1


def new_secret() -> str:
    """20 random bytes, as unpadded base32 (what authenticator apps take)."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code_at(secret: str, counter: int) -> str:
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def verify(secret: str, code: str, now: float, last_counter: int | None) -> int | None:
    """The counter of the step `code` matches (to store as the new last counter), or None."""
    code = code.replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = int(now) // STEP
    for counter in range(current - WINDOW, current + WINDOW + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if hmac.compare_digest(code_at(secret, counter), code):
            return counter
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": issuer})


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG element, labelled for assistive technology by the page around it."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, omitsize=False)
    return svg


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
