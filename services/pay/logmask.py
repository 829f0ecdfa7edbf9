"""The card-number mask on every log line of a pay process (pay spec §13.6).

Full card numbers never reach a log on purpose; this is the net for accidents: any run of 12–19 digits, with single
spaces or hyphens between them, in any string of a log event is replaced before the line is rendered.
"""

from __future__ import annotations

import re
from typing import Any

from structlog.typing import EventDict, WrappedLogger

CARD_NUMBER = re.compile(r"(?<![0-9])(?:[0-9][ -]?){11,18}[0-9](?![0-9])")
MASK = "[card number removed]"


def mask(value: Any) -> Any:
    if isinstance(value, str):
        return CARD_NUMBER.sub(MASK, value)
    if isinstance(value, dict):
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask(item) for item in value)
    return value


def mask_card_numbers(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    return {key: mask(value) for key, value in event.items()}
