"""The usage document (`GET /internal/services/{id}/usage?mode=live|test`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class Tally(BaseModel):
    """How many, and their amounts in pence."""

    count: int = 0
    amount: int = 0


class UsageDay(BaseModel):
    date: dt.date
    #: Payments created that day, by their public state now (`created`, `started`, … `success`, `failed`,
    #: `cancelled`, `error`); every state is present. Amounts are what was asked, without corporate card surcharges.
    payments: dict[str, Tally]
    #: Refunds created that day, by status now (`submitted`, `success`, `error`); every status is present.
    refunds: dict[str, Tally]


class Usage(BaseModel):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    mode: str
    days: list[UsageDay]
