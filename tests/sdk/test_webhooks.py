"""`verify_webhook` against the platform's own signer (`gaap.webhooks.sign`, which Pay webhooks and Notify callbacks
use): what it signs verifies, and anything altered, stale or unsigned does not."""

from __future__ import annotations

import time

import pytest
from gaap_client import InvalidSignature, verify_webhook

from gaap.webhooks import sign

BODY = b'{"event_type":"card_payment_succeeded","resource_id":"hu20sqlact5260q2nanm0q8u93"}'
SECRET, OLD = "whsec_new_3b5f0e21a", "whsec_old_99c1d"


@pytest.mark.parametrize("header", ["Pay-Signature-V2", "X-Notify-Signature", "pay-signature-v2"])
def test_what_the_platform_signs_verifies(header: str) -> None:
    now = int(time.time())
    signed = {header: sign(BODY, [SECRET], timestamp=now)}
    assert verify_webhook(BODY, signed, SECRET) == now


def test_during_a_rotation_either_secret_verifies() -> None:
    both = {"Pay-Signature-V2": sign(BODY, [SECRET, OLD])}
    verify_webhook(BODY, both, SECRET)
    verify_webhook(BODY, both, OLD)
    only_new = {"Pay-Signature-V2": sign(BODY, [SECRET])}
    verify_webhook(BODY, only_new, [OLD, SECRET])


T = 1_800_000_000  # a fixed signing time, so each case's clock is exact


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now"),
    [
        (BODY + b" ", {"Pay-Signature-V2": sign(BODY, [SECRET], timestamp=T)}, SECRET, T),  # the body was changed
        (BODY, {"Pay-Signature-V2": sign(BODY, [OLD], timestamp=T)}, SECRET, T),  # another secret
        (BODY, {"Pay-Signature-V2": sign(BODY, [SECRET], timestamp=T)}, SECRET, T + 301),  # replayed later
        (BODY, {"Pay-Signature-V2": sign(BODY, [SECRET], timestamp=T)}, SECRET, T - 301),  # from the future
        (BODY, {}, SECRET, T),  # unsigned
        (BODY, {"Pay-Signature-V2": "v1=abc"}, SECRET, T),  # malformed
        (BODY, {"Pay-Signature-V2": f"t={T},v1=zz"}, SECRET, T),  # no usable signature
    ],
)
def test_anything_else_is_refused(body: bytes, headers: dict[str, str], secret: str, now: int) -> None:
    with pytest.raises(InvalidSignature):
        verify_webhook(body, headers, secret, now=now)


def test_the_edge_of_the_tolerance_is_accepted() -> None:
    headers = {"Pay-Signature-V2": sign(BODY, [SECRET], timestamp=T)}
    assert verify_webhook(BODY, headers, SECRET, now=T + 300) == T
