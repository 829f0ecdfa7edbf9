"""The log mask (pay spec §13.6) on the request ID: only Luhn-valid digit runs (possible card numbers) are masked
there, so random hex request IDs stay searchable; every other field keeps the strict net."""

from __future__ import annotations

import random
import re
import uuid

from services.pay.logmask import CARD_NUMBER, MASK, mask_card_numbers
from services.pay.provider.cards import luhn_valid

#: A hex request ID with a 15-digit run that fails the Luhn check.
RANDOM_RUN = "123456789012345"
HEX_ID = f"ab{RANDOM_RUN}cdef0123456789ab"


def masked(**event: object) -> dict[str, object]:
    return dict(mask_card_numbers(None, "info", dict(event)))


def test_a_random_digit_run_in_the_request_id_is_kept() -> None:
    assert not luhn_valid(RANDOM_RUN)
    assert masked(request_id=HEX_ID) == {"request_id": HEX_ID}


def test_a_card_number_in_the_request_id_is_still_masked() -> None:
    assert masked(request_id="ab4444333322221111cd") == {"request_id": f"ab{MASK}cd"}
    assert masked(request_id="req-4444-3333-2222-1111") == {"request_id": f"req-{MASK}"}


def test_other_fields_keep_the_strict_net() -> None:
    event = masked(event=f"retrying {HEX_ID}", path=f"/v1/{RANDOM_RUN}", request_id=HEX_ID)
    assert event == {"event": f"retrying ab{MASK}cdef0123456789ab", "path": f"/v1/{MASK}", "request_id": HEX_ID}


def test_few_request_ids_are_touched_and_only_for_a_luhn_valid_run() -> None:
    rng = random.Random(20261121)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(5000)]
    with_runs = [rid for rid in ids if CARD_NUMBER.search(rid)]
    changed = [rid for rid in ids if masked(request_id=rid)["request_id"] != rid]
    assert len(with_runs) > 5 * len(changed)  # the strict net would have mangled every one of `with_runs`
    assert len(changed) < len(ids) / 100
    for rid in changed:
        assert any(luhn_valid(re.sub("[ -]", "", run.group(0))) for run in CARD_NUMBER.finditer(rid))
