"""Email addresses: spec §10.2, the §4.2 message and §3.5 simulated recipients."""

from __future__ import annotations

import pytest

from services.notify.recipients.email import (
    INVALID_EMAIL,
    InvalidEmailError,
    is_smoke_test_email,
    simulated_email_status,
    validate_email_address,
)

VALID = [
    "email@domain.com",
    "email@domain.COM",
    "firstname.lastname@domain.com",
    "firstname.o'lastname@domain.com",
    "email@subdomain.domain.com",
    "firstname+lastname@domain.com",
    "1234567890@domain.com",
    "email@domain-one.com",
    "_______@domain.com",
    "email@domain.name",
    "email@domain.superlongtld",
    "email@domain.co.jp",
    "firstname-lastname@domain.com",
    "info@german-financial-services.vermögensberatung",
    "info@german-financial-services.reallylongarbitrarytldthatiswaytoohugejustincase",
    "japanese-info@例え.テスト",
    "a@例え.テスト",
    "a@xn--r8jz45g.xn--zckzah",
    "!#$%&'*+/=?^_`{|}~-@example.com",
    "dots.in.the.local.part@domain.com",
    "temp-fail@simulator.notify",
]

INVALID = [
    "",
    "email@123.123.123.123",
    "email@[123.123.123.123]",
    "plainaddress",
    "@no-local-part.com",
    "Outlook Contact <outlook-contact@domain.com>",
    "no-at.domain.com",
    "no-tld@domain",
    ";beginning-semicolon@domain.co.uk",
    "middle-semicolon@domain.co;uk",
    "trailing-semicolon@domain.com;",
    '"email+leading-quotes@domain.com',
    'email+middle"-quotes@domain.com',
    '"quoted-local-part"@domain.com',
    '"quoted@domain.com"',
    "lots-of-dots@domain..gov..uk",
    "two-dots..in-local@domain.com",
    "multiple@domains@domain.com",
    "spaces in local@domain.com",
    "spaces-in-domain@dom ain.com",
    "underscores-in-domain@dom_ain.com",
    "pipe-in-domain@example.com|gov.uk",
    "comma,in-local@gov.uk",
    "comma-in-domain@domain,gov.uk",
    "pound-sign-in-local£@domain.com",
    "local-with-’-apostrophe@domain.com",
    "local-with-”-quotes@domain.com",
    "domain-starts-with-a-dot@.domain.com",
    "brackets(in)local@domain.com",
    "email-too-long-" + "a" * 320 + "@example.com",
    "incorrect-punycode@xn---something.com",
    "x@y.c",
    "a@-leading-hyphen.com",
    "a@trailing-hyphen-.com",
    "a@numeric.tld1",
    "a@b." + "c" * 64,
    "a@" + "b" * 64 + ".com",
    "a@" + ("b" * 60 + ".") * 5 + "com",
    "trailing-dot@domain.com.",
]


@pytest.mark.parametrize("value", VALID)
def test_valid_addresses(value: str) -> None:
    assert validate_email_address(value).to == value


@pytest.mark.parametrize("value", INVALID)
def test_invalid_addresses(value: str) -> None:
    with pytest.raises(InvalidEmailError) as error:
        validate_email_address(value)
    assert error.value.message == INVALID_EMAIL == "Not a valid email address"


def test_unusual_whitespace_is_stripped_and_normalised_to_is_lowercase() -> None:
    address = validate_email_address("\u200b  Someone@Example.GOV.UK\ufeff\n")
    assert address.to == "Someone@Example.GOV.UK"
    assert address.normalised_to == "someone@example.gov.uk"


def test_320_characters_is_the_limit() -> None:
    host = "example.com"
    at_limit = "a" * (320 - len(host) - 1) + "@" + host
    assert validate_email_address(at_limit).to == at_limit
    with pytest.raises(InvalidEmailError):
        validate_email_address("a" + at_limit)


@pytest.mark.parametrize(
    "value",
    [
        "simulate-delivered@notifications.service.gov.uk",
        "simulate-delivered-2@notifications.service.gov.uk",
        " Simulate-Delivered-3@Notifications.Service.GOV.UK ",
    ],
)
def test_smoke_test_addresses(value: str) -> None:
    assert is_smoke_test_email(value)


def test_operators_may_add_smoke_test_addresses() -> None:
    assert not is_smoke_test_email("smoke@notify.example.org")
    assert is_smoke_test_email("Smoke@Notify.Example.org", extra_addresses=["smoke@notify.example.org"])


@pytest.mark.parametrize(
    ("normalised", "status"),
    [
        ("temp-fail@simulator.notify", "temporary-failure"),
        ("perm-fail@simulator.notify", "permanent-failure"),
        ("someone@example.com", "delivered"),
    ],
)
def test_simulated_statuses_for_test_keys(normalised: str, status: str) -> None:
    assert simulated_email_status(normalised) == status
