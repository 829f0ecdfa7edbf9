"""The card-number mask on every log line of a pay process (pay spec §13.6).

Full card numbers never reach a log on purpose; this is the net for accidents: any run of 12–19 digits, with single
spaces or hyphens between them, in any string of a log event is replaced before the line is rendered.

One field is treated differently: `request_id`. The gateway stamps a random hex ID on each request
(`gaap.context.new_request_id`; a client may send its own), and about one in 32 such IDs holds a run of 12–19
digits, which the strict net would mangle exactly where operators search for it. Every card number passes the Luhn
check, so in `request_id` a run is masked only when it is Luhn-valid: a card number sent as a request ID is still
removed, while only the one random run in ten that is Luhn-valid by chance is (about one ID in 280). Every other
field keeps the strict net, where a false alarm costs little and a missed card number is a breach.
"""

from __future__ import annotations

import re
from typing import Any

from structlog.typing import EventDict, WrappedLogger

from services.pay.provider.cards import luhn_valid

CARD_NUMBER = re.compile(r"(?<![0-9])(?:[0-9][ -]?){11,18}[0-9](?![0-9])")
MASK = "[card number removed]"
#: The field holding the request's ID (`gaap.logging`), whose random digit runs are kept unless Luhn-valid.
REQUEST_ID = "request_id"


def mask(value: Any) -> Any:
    if isinstance(value, str):
        return CARD_NUMBER.sub(MASK, value)
    if isinstance(value, dict):
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask(item) for item in value)
    return value


def _luhn_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return MASK if luhn_valid(run.replace(" ", "").replace("-", "")) else run


def mask_request_id(value: Any) -> Any:
    """A request ID with its Luhn-valid digit runs (possible card numbers) masked, and nothing else."""
    return CARD_NUMBER.sub(_luhn_run, value) if isinstance(value, str) else mask(value)


def mask_card_numbers(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    return {key: mask_request_id(value) if key == REQUEST_ID else mask(value) for key, value in event.items()}
