"""Compact HS256 JWS, parsed once: the hot path of every authenticated request.

PyJWT decodes a token's segments again for each call (header, then claims, then each candidate key), and
validates claims generically; on the gateway's path that was a measurable share of a request. Here a token is
split and decoded once (`CompactJws.parse`), each candidate key costs one HMAC, and the caller checks exactly the
claims it cares about. Used for the gateway's principal tokens (signed and verified here) and for the common shape
of Notify client tokens (the gateway falls back to PyJWT for anything else, see `gateway.auth.notify`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson


class MalformedToken(ValueError):
    """Not three base64url segments with a JSON object header and payload."""


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("a segment is not base64url") from exc


def _object(segment: str) -> dict[str, Any]:
    try:
        value = orjson.loads(b64url_decode(segment))
    except orjson.JSONDecodeError as exc:
        raise MalformedToken("a segment is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedToken("a segment is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: str) -> CompactJws:
        """Split and decode; raises `MalformedToken`. Says nothing about the signature yet."""
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedToken("a compact JWS has three segments")
        header_segment, claims_segment, signature_segment = parts
        try:
            signing_input = f"{header_segment}.{claims_segment}".encode("ascii")
        except UnicodeEncodeError as exc:
            raise MalformedToken("a segment is not base64url") from exc
        return cls(_object(header_segment), _object(claims_segment), signing_input, b64url_decode(signature_segment))

    @property
    def is_hs256(self) -> bool:
        return self.header.get("alg") == "HS256"

    def signed_with(self, key: bytes) -> bool:
        """True when the HS256 signature was made with `key` (constant-time comparison)."""
        expected = hmac.new(key, self.signing_input, hashlib.sha256).digest()
        return hmac.compare_digest(expected, self.signature)


def encode_header(header: dict[str, Any]) -> str:
    """A header segment, to compute once and pass to `sign_hs256` for every token with that header."""
    return b64url_encode(orjson.dumps({"alg": "HS256", "typ": "JWT", **header}))


def sign_hs256(header_segment: str, claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{header_segment}.{b64url_encode(orjson.dumps(claims))}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(signature)}"
