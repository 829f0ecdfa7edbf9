"""Secret handling primitives (ARCHITECTURE rule 6).

- `SecretBox`: AES-256-GCM for secrets the platform must be able to read back (Notify key secrets, which HS256
  verification needs; webhook signing secrets). Ciphertexts carry the key id, so keys rotate: the first key of the
  keyring encrypts, every key decrypts.
- `keyed_hash`: HMAC-SHA256 under a server-side pepper, for high-entropy secrets that only need to be matched
  (Pay keys, admin tokens, OIDC client secrets). A slow hash adds nothing for 128+ random bits and would cost
  every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gaap.settings import parse_keyring


class DecryptionError(ValueError):
    pass


class SecretBox:
    def __init__(self, keyring: str, *, associated: bytes = b"gaap") -> None:
        ring = parse_keyring(keyring)
        self._kid = ring[0][0]
        self._ciphers = {kid: AESGCM(hashlib.sha256(key).digest()) for kid, key in ring}
        self._associated = associated

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self._kid].encrypt(nonce, plaintext.encode(), self._associated)
        return f"{self._kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        kid, _, b64 = token.rpartition(".")  # kids may contain dots; URL-safe base64 never does
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(f"no key {kid!r} in the keyring")
        try:
            raw = base64.urlsafe_b64decode(b64)
            return cipher.decrypt(raw[:12], raw[12:], self._associated).decode()
        except Exception as exc:
            raise DecryptionError("ciphertext could not be decrypted") from exc


def keyed_hash(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


def random_base32(chars: int) -> str:
    """`chars` characters of the 0-9a-v alphabet (5 bits each) from the OS CSPRNG."""
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    bits = int.from_bytes(os.urandom((chars * 5 + 7) // 8), "big")
    out = []
    for _ in range(chars):
        out.append(alphabet[bits & 31])
        bits >>= 5
    return "".join(out)


_boxes: dict[str, SecretBox] = {}


def register_box(name: str, box: SecretBox) -> None:
    """Make `box` the one encrypted columns named `name` use (set once at process start-up)."""
    _boxes[name] = box


def registered_box(name: str) -> SecretBox:
    try:
        return _boxes[name]
    except KeyError:
        raise RuntimeError(f"no encryption keyring registered for {name!r}: register it at start-up") from None
