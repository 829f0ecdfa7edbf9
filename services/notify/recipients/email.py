"""Email addresses: the rules GOV.UK Notify applies before it hands an address to its email provider.

The rules (spec §10.2, after alphagov/notifications-utils `recipient_validation/email_address.py`) are
deliberately stricter than RFC 5322 in the local part: no quotes, semicolons or spaces, because those
make the provider fail the send later, after a 201. The host is checked as the internet will see it,
IDNA-encoded, so `a@例え.テスト` is fine and `x@y.c` is not. There is one message for every failure.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "INVALID_EMAIL",
    "SMOKE_TEST_EMAILS",
    "EmailAddress",
    "InvalidEmailError",
    "is_smoke_test_email",
    "simulated_email_status",
    "validate_email_address",
]

INVALID_EMAIL = "Not a valid email address"
MAX_LENGTH = 320
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u180e\u200b\u200c\u200d\u2060\ufeff"))
_LOCAL_CHARACTERS = r"a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-"
_ADDRESS = re.compile(rf"[{_LOCAL_CHARACTERS}]+@([^.@][^@\s]+)")
_LABEL = re.compile(r"(xn|[a-z0-9]+)(-?-[a-z0-9]+)*", re.IGNORECASE | re.ASCII)
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+", re.IGNORECASE | re.ASCII)

SMOKE_TEST_EMAILS = frozenset(
    {
        "simulate-delivered@notifications.service.gov.uk",
        "simulate-delivered-2@notifications.service.gov.uk",
        "simulate-delivered-3@notifications.service.gov.uk",
    }
)
"""Smoke-test recipients (spec §3.5): validated, answered with a 201, never stored or sent."""
_SIMULATED_STATUSES = {
    "temp-fail@simulator.notify": "temporary-failure",
    "perm-fail@simulator.notify": "permanent-failure",
}


class InvalidEmailError(ValueError):
    """The value is not an address Notify accepts; the schema stage reports `email_address <message>`."""

    def __init__(self, message: str = INVALID_EMAIL) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A valid recipient: `to` as given (whitespace trimmed), `normalised_to` lowercased for matching."""

    to: str
    normalised_to: str


def _strip(value: str) -> str:
    """Remove invisible characters anywhere and whitespace at the ends; both arrive from copy and paste."""
    return value.translate(_ZERO_WIDTH).strip()


def _host_is_valid(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    if len(ascii_host) > MAX_HOST_LENGTH or len(labels) < 2:
        return False
    if not all(0 < len(label) <= MAX_LABEL_LENGTH and _LABEL.fullmatch(label) for label in labels):
        return False
    return _TOP_LEVEL.fullmatch(labels[-1]) is not None


def validate_email_address(value: str) -> EmailAddress:
    """Check an address and return it with its normalised form, or raise `InvalidEmailError`."""
    address = _strip(value)
    match = _ADDRESS.fullmatch(address)
    if match is None or len(address) > MAX_LENGTH or ".." in address or not _host_is_valid(match.group(1)):
        raise InvalidEmailError
    return EmailAddress(to=address, normalised_to=address.lower())


def _normalised(value: str) -> str:
    return _strip(value).lower()


def is_smoke_test_email(value: str, extra_addresses: Collection[str] = ()) -> bool:
    """Whether the address is a smoke-test recipient; operators may add addresses under their own domain."""
    address = _normalised(value)
    return address in SMOKE_TEST_EMAILS or address in {_normalised(extra) for extra in extra_addresses}


def simulated_email_status(normalised_to: str) -> str:
    """The final status a test-key email gets (spec §3.5): the simulator's failures, else delivered."""
    return _SIMULATED_STATUSES.get(normalised_to, "delivered")
