"""Secret handling (ARCHITECTURE rule 6) and webhook signatures, checked against independent computations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gaap import webhooks
from gaap.crypto import DecryptionError, SecretBox, constant_time_equal, keyed_hash, random_base32
from gaap.settings import ConfigurationError, format_keyring
from gaap.webhooks import SignatureError

BASE32 = set("0123456789abcdefghijklmnopqrstuv")


def keyring(*kids: str) -> tuple[str, dict[str, bytes]]:
    keys = {kid: os.urandom(32) for kid in kids}
    return format_keyring(list(keys.items())), keys


# SecretBox ----------------------------------------------------------------------------------------------------


def test_secret_box_round_trip() -> None:
    raw, _ = keyring("k1")
    box = SecretBox(raw)
    secret = "notify-key-secret-ünïcode-✓"

    sealed = box.encrypt(secret)

    assert sealed.startswith("k1.")
    assert secret not in sealed
    assert box.decrypt(sealed) == secret
    assert box.encrypt(secret) != sealed  # a fresh nonce every time
    assert SecretBox(raw).decrypt(sealed) == secret  # another process with the same keyring


def test_secret_box_ciphertext_is_aes_gcm_under_the_hashed_key() -> None:
    """The stored form is `kid.base64(nonce || ciphertext || tag)` under AES-256-GCM with SHA-256(key)."""
    raw, keys = keyring("k1")
    sealed = SecretBox(raw).encrypt("hello")
    blob = base64.urlsafe_b64decode(sealed.split(".", 1)[1])

    assert len(blob) == 12 + len("hello") + 16
    plain = AESGCM(hashlib.sha256(keys["k1"]).digest()).decrypt(blob[:12], blob[12:], b"gaap")
    assert plain == b"hello"


def test_secret_box_rotation_decrypts_old_ciphertexts() -> None:
    old_raw, old_keys = keyring("2025")
    old_sealed = SecretBox(old_raw).encrypt("from last year")
    new_raw = format_keyring([("2026", os.urandom(32)), ("2025", old_keys["2025"])])

    rotated = SecretBox(new_raw)

    assert rotated.decrypt(old_sealed) == "from last year"
    new_sealed = rotated.encrypt("from this year")
    assert new_sealed.startswith("2026.")  # the first key encrypts
    with pytest.raises(DecryptionError, match="no key '2026'"):
        SecretBox(old_raw).decrypt(new_sealed)


def test_secret_box_tampering_is_detected() -> None:
    raw, _ = keyring("k1")
    box = SecretBox(raw)
    kid, b64 = box.encrypt("do not touch").split(".", 1)
    blob = bytearray(base64.urlsafe_b64decode(b64))

    for position in (0, 12, len(blob) - 1):  # nonce, ciphertext, tag
        changed = bytearray(blob)
        changed[position] ^= 0x01
        with pytest.raises(DecryptionError):
            box.decrypt(f"{kid}.{base64.urlsafe_b64encode(bytes(changed)).decode()}")
    with pytest.raises(DecryptionError):
        box.decrypt(f"{kid}.{base64.urlsafe_b64encode(bytes(blob[:-1])).decode()}")  # truncated
    with pytest.raises(DecryptionError):
        box.decrypt(f"{kid}.not base64 at all!")
    with pytest.raises(DecryptionError):
        box.decrypt("")


def test_secret_box_unknown_kid_and_wrong_key_are_refused() -> None:
    raw, keys = keyring("k1")
    sealed = SecretBox(raw).encrypt("secret")

    with pytest.raises(DecryptionError, match="no key 'k1'"):
        SecretBox(keyring("other")[0]).decrypt(sealed)
    impostor = format_keyring([("k1", os.urandom(32))])  # same kid, different key
    with pytest.raises(DecryptionError, match="could not be decrypted"):
        SecretBox(impostor).decrypt(sealed)
    with pytest.raises(DecryptionError):
        SecretBox(raw, associated=b"another-purpose").decrypt(sealed)  # bound to its purpose
    assert SecretBox(format_keyring([("k1", keys["k1"])])).decrypt(sealed) == "secret"


def test_secret_box_refuses_a_short_key() -> None:
    with pytest.raises(ConfigurationError):
        SecretBox("k1:" + base64.urlsafe_b64encode(os.urandom(16)).decode())


def test_secret_box_round_trips_with_a_dotted_kid() -> None:
    box = SecretBox(format_keyring([("2026.01", os.urandom(32))]))

    assert box.decrypt(box.encrypt("secret")) == "secret"


# Hashes and random strings -----------------------------------------------------------------------------------


def test_keyed_hash_is_hmac_sha256_deterministic_and_pepper_dependent() -> None:
    pepper, other = os.urandom(32), os.urandom(32)
    secret = "api_live_" + random_base32(26)

    digest = keyed_hash(pepper, secret)

    assert digest == hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()
    assert len(digest) == 64
    assert keyed_hash(pepper, secret) == digest
    assert keyed_hash(other, secret) != digest
    assert keyed_hash(pepper, secret + "x") != digest
    assert secret not in digest


def test_constant_time_equal_accepts_text_and_bytes() -> None:
    assert constant_time_equal("abc", b"abc")
    assert not constant_time_equal("abc", "abd")
    assert not constant_time_equal(b"abc", b"abcd")


@pytest.mark.parametrize("length", [1, 7, 8, 26, 32, 64])
def test_random_base32_length_and_alphabet(length: int) -> None:
    values = {random_base32(length) for _ in range(50)}

    assert all(len(value) == length and set(value) <= BASE32 for value in values)
    if length >= 8:
        assert len(values) == 50


def test_random_base32_uses_the_whole_alphabet_evenly() -> None:
    sample = "".join(random_base32(32) for _ in range(200))  # 6,400 characters, 200 expected of each

    counts = {char: sample.count(char) for char in BASE32}
    assert set(sample) == BASE32
    assert min(counts.values()) > 120 and max(counts.values()) < 290


# Webhook signatures ------------------------------------------------------------------------------------------


BODY = b'{"payment_id":"hu20sqlact5260q2nanm0q8u93","amount":1200}'


def independent_digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_signature_is_hex_hmac_sha256_over_timestamp_dot_body() -> None:
    header = webhooks.sign(BODY, ["whsec-one"], timestamp=1_767_225_600)

    assert header == f"t=1767225600,v1={independent_digest(b'whsec-one', 1_767_225_600, BODY)}"
    assert webhooks.verify(header, BODY, ["whsec-one"], now=1_767_225_600) == 1_767_225_600


def test_sign_uses_the_current_time_and_verifies() -> None:
    before = int(time.time())
    header = webhooks.sign(BODY, [b"bytes-secret"])
    timestamp, signatures = webhooks.parse(header)

    assert before <= timestamp <= int(time.time())
    assert signatures == [independent_digest(b"bytes-secret", timestamp, BODY)]
    assert webhooks.verify(header, BODY, [b"bytes-secret"]) == timestamp


def test_two_secrets_sign_twice_for_rotation() -> None:
    header = webhooks.sign(BODY, ["new-secret", "old-secret"], timestamp=1000)

    _, signatures = webhooks.parse(header)
    assert signatures == [independent_digest(b"new-secret", 1000, BODY), independent_digest(b"old-secret", 1000, BODY)]
    for receiver_secrets in (["old-secret"], ["new-secret"], ["unrelated", "old-secret"]):
        assert webhooks.verify(header, BODY, receiver_secrets, now=1000) == 1000
    with pytest.raises(SignatureError, match="no signature matches"):
        webhooks.verify(header, BODY, ["unrelated"], now=1000)


def test_tolerance_window_bounds_replay() -> None:
    header = webhooks.sign(BODY, ["s"], timestamp=10_000)

    assert webhooks.verify(header, BODY, ["s"], now=10_000 + 300) == 10_000
    assert webhooks.verify(header, BODY, ["s"], now=10_000 - 300) == 10_000
    for now in (10_000 + 301, 10_000 - 301):
        with pytest.raises(SignatureError, match="tolerance"):
            webhooks.verify(header, BODY, ["s"], now=now)
    assert webhooks.verify(header, BODY, ["s"], now=10_000 + 900, tolerance=900) == 10_000


def test_tampered_body_or_timestamp_is_rejected() -> None:
    header = webhooks.sign(BODY, ["s"], timestamp=10_000)
    digest = header.split("v1=")[1]

    with pytest.raises(SignatureError, match="no signature matches"):
        webhooks.verify(header, BODY.replace(b"1200", b"9999"), ["s"], now=10_000)
    with pytest.raises(SignatureError, match="no signature matches"):
        webhooks.verify(f"t=10001,v1={digest}", BODY, ["s"], now=10_000)  # the time is signed too
    with pytest.raises(SignatureError, match="no signature matches"):
        webhooks.verify(header, BODY, ["S"], now=10_000)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no signature header"),
        ("", "no signature header"),
        ("v1=" + "0" * 64, "no timestamp"),
        ("t=10000", "no v1"),
        ("t=10000,v0=" + "0" * 64, "no v1"),
        ("t=ten,v1=" + "0" * 64, "not an integer"),
        ("t=10000.5,v1=" + "0" * 64, "not an integer"),
        ("t=10000,garbage", "malformed"),
        ("just-garbage", "malformed"),
    ],
)
def test_malformed_headers_are_signature_errors(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        webhooks.verify(header, BODY, ["s"], now=10_000)


def test_header_parsing_tolerates_spaces_and_unknown_schemes() -> None:
    digest = independent_digest(b"s", 10_000, BODY)

    assert webhooks.verify(f"t=10000, v0=abc, v1={digest}", BODY, ["s"], now=10_000) == 10_000


def test_non_ascii_signature_is_a_signature_error() -> None:
    with pytest.raises(SignatureError):
        webhooks.verify("t=10000,v1=\u00e9" + "0" * 63, BODY, ["s"], now=10_000)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        webhooks.sign(BODY, [])
