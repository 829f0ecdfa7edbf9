"""What every service's usage statistics share: the range of days asked for, and the day of a timestamp in SQL.

Each service reports its own per-day aggregates on its internal API (`GET /internal/services/{id}/usage`), so
the console never reads another component's tables. Days are UTC days, as the daily sending limits count them.
The aggregates are `GROUP BY` the day in the database, on PostgreSQL and SQLite alike: `utc_day(column)` compiles
to each dialect's own expression and gives the day as `YYYY-MM-DD` text on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from gaap.errors import BadRequest

#: The longest range one call may ask for: a quarter, which the console's 30-day view fits in with room to spare.
MAX_DAYS = 93


class utc_day(FunctionElement[str]):
    """The UTC calendar day of a timestamp column, as `YYYY-MM-DD` text."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # `UTCDateTime` stores naive UTC text on SQLite ("2026-05-01 12:00:00.000000"), which `date()` reads.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # `timestamptz` is converted to UTC explicitly: the session's TimeZone setting must not move a row's day.
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class InvalidDateRange(BadRequest):
    code = "InvalidDateRange"
    message = "The date range is not valid"


@dataclass(frozen=True)
class DayRange:
    """The days `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first moment of `first` (UTC)."""
        return datetime.combine(self.first, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after `last` (UTC): rows are `start <= created_at < end`."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=UTC)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _day_range(
    first: Annotated[date, Query(alias="from", description="The first day (UTC), YYYY-MM-DD")],
    last: Annotated[date, Query(alias="to", description="The last day (UTC), included, YYYY-MM-DD")],
) -> DayRange:
    if last < first:
        raise InvalidDateRange("The range ends before it starts: `to` must be on or after `from`")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidDateRange(f"The range is longer than {MAX_DAYS} days")
    return DayRange(first, last)


#: The `from` and `to` query parameters of a usage endpoint, checked.
Days = Annotated[DayRange, Depends(_day_range)]
