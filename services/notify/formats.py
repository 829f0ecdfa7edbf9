"""Wire formats shared by notify's responses: datetimes and absolute URLs (notify spec §2)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """`2024-05-17T15:58:38.342838Z`: UTC, always six fractional digits and a literal Z."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
