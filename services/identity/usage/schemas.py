"""The usage document (`GET /internal/services/{id}/usage`) and the sign-in activity (`…/sign-ins`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class UsageDay(BaseModel):
    date: dt.date
    #: Sign-ins by the level reached: `Cl`, `Cl.Cm`, `Cl.Cm.P1`, `Cl.Cm.P2` always, and any other level seen.
    levels: dict[str, int]
    #: Sign-ins that asked for an identity level, by how proving went: `proved`, `reused`, `failed`.
    proving: dict[str, int]


class Usage(BaseModel):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    days: list[UsageDay]


class SignInEntry(BaseModel):
    time: dt.datetime
    client_id: str
    level: str
    proving: str | None
    #: The first characters of the `sub` the client received; never the whole identifier.
    subject_hint: str


class SignIns(BaseModel):
    sign_ins: list[SignInEntry]
