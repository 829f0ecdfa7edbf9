"""The usage document (`GET /internal/services/{id}/usage`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ChannelCounts(BaseModel):
    """One channel's counted messages (live and team keys) created on one day, by status group."""

    sending: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0


class UsageDay(BaseModel):
    date: dt.date
    email: ChannelCounts
    sms: ChannelCounts
    letter: ChannelCounts


class DailyLimit(BaseModel):
    limit: int
    #: Counted so far today; None when the counters (Redis) cannot be read.
    used: int | None


class Today(BaseModel):
    """Today's daily limits (UTC day) by channel: `email`, `sms`, `letter` and `international_sms`."""

    date: dt.date
    daily_limits: dict[str, DailyLimit]


class Usage(BaseModel):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    days: list[UsageDay]
    #: None when notify holds no record of the service, so knows none of its limits.
    today: Today | None
