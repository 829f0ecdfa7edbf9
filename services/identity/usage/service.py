"""Recording sign-ins as codes are issued, and reading them back per day or newest first."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from gaap.logging import get_logger
from gaap.usage import DayRange
from services.identity.oidc.vtr import Vector
from services.identity.usage import repository
from services.identity.usage.models import FAILED, PROVED, REUSED, SUBJECT_HINT_LENGTH, SignIn
from services.identity.usage.schemas import SignInEntry, SignIns, Usage, UsageDay

log = get_logger("identity.usage")
#: The levels every day lists, seen or not (P3 appears only on days it was reached).
LEVELS = ("Cl", "Cl.Cm", "Cl.Cm.P1", "Cl.Cm.P2")
PROVING_OUTCOMES = (PROVED, REUSED, FAILED)


def subject_hint(sub: str) -> str:
    """The first characters of the subject's identifier, after its `urn:…:` prefix."""
    return sub.rsplit(":", 1)[-1][:SUBJECT_HINT_LENGTH]


def sign_in_of(service_id: str, client_id: str, sub: str, vector: Vector, *, proved: bool, failed: bool) -> SignIn:
    """The record of a code issued at `vector`: `proved` when a proving journey met the identity level just now,
    `failed` when it did not and the client gets a `returnCode` instead."""
    proving = None if not vector.identity else FAILED if failed else PROVED if proved else REUSED
    return SignIn(
        id=uuid.uuid4(),
        service_id=uuid.UUID(service_id),
        client_id=client_id,
        credential=vector.credential,
        identity=vector.identity_level if proving in (PROVED, REUSED) else None,
        proving=proving,
        subject_hint=subject_hint(sub),
    )


async def record(db: Database, sign_in: SignIn) -> None:
    """Write the sign-in in its own transaction. A sign-in that cannot be counted is still a sign-in: a database
    failure here is logged and the user goes on to the relying party with their code."""
    try:
        async with db.write_session() as session:
            session.add(sign_in)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("sign-in not recorded", client_id=sign_in.client_id, error=type(exc).__name__)


async def usage(session: AsyncSession, service_id: uuid.UUID, days: DayRange) -> Usage:
    levels: dict[str, dict[str, int]] = {}
    proving: dict[str, dict[str, int]] = {}
    for day, credential, identity, outcome, count in await repository.counts_by_day(session, service_id, days):
        level = credential + (f".{identity}" if identity else "")
        of_day = levels.setdefault(day, dict.fromkeys(LEVELS, 0))
        of_day[level] = of_day.get(level, 0) + count
        if outcome is not None:
            outcomes = proving.setdefault(day, dict.fromkeys(PROVING_OUTCOMES, 0))
            outcomes[outcome] += count
    per_day = [
        UsageDay(
            date=day,
            levels=levels.get(day.isoformat(), dict.fromkeys(LEVELS, 0)),
            proving=proving.get(day.isoformat(), dict.fromkeys(PROVING_OUTCOMES, 0)),
        )
        for day in days.days()
    ]
    return Usage(from_=days.first, to=days.last, days=per_day)


async def newest(session: AsyncSession, service_id: uuid.UUID, limit: int) -> SignIns:
    rows = await repository.newest(session, service_id, limit)
    return SignIns(
        sign_ins=[
            SignInEntry(
                time=row.created_at,
                client_id=row.client_id,
                level=row.level,
                proving=row.proving,
                subject_hint=row.subject_hint,
            )
            for row in rows
        ]
    )
