"""Wire formats (pay spec §2): datetimes with exactly three fractional digits, dates as `YYYY-MM-DD`, and the
second-precision datetimes and plain dates the search filters take."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_FILTER_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FILTER_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def datetime_ms(value: datetime) -> str:
    """`2026-03-04T10:15:30.123Z`: UTC, milliseconds always present."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_date(value: date) -> str:
    return value.isoformat()


def parse_filter_datetime(value: str) -> datetime | None:
    """A search filter's `YYYY-MM-DDThh:mm:ssZ`, or None when it is not one."""
    if not _FILTER_DATETIME.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_filter_date(value: str) -> date | None:
    """A search filter's `YYYY-MM-DD`, or None when it is not one."""
    if not _FILTER_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
