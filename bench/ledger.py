"""What happened to every text the scale-out platform accepted: notify's rows against what the SMS provider got.

Two ledgers, read independently: notify's `notifications` table (a row for every send it answered 201 to, since
a send is durable before it is acknowledged) and the fake SMS provider's store (`gaap.embedded.inbox`), which
keeps one row per (provider, reference) and counts every attempt to send a reference it already has. The
reference is the notification's id, so the two join exactly:

- *lost*: a notification the provider never received (after waiting for delivery to finish);
- *duplicated*: a reference the provider holds more than once (through both providers), plus every send of a
  reference it already had, which it refused, but which a real carrier would have delivered a second time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from gaap.db.engine import Database
from gaap.embedded.inbox import SMS_DB_FILE, sms_stats


@dataclass(frozen=True)
class Delivery:
    """The two ledgers compared."""

    #: Notifications in notify's database, by status.
    statuses: Counter[str]
    #: Notifications the provider never received.
    lost: list[str]
    #: References the provider holds more than once, with how many copies.
    copies: dict[str, int]
    #: Sends of a reference the provider already had (refused with 409, counted by the provider).
    refused_repeats: int
    #: References the provider holds that notify has no row for (a send it did not record).
    unknown: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.statuses.values())

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.copies.values()) + self.refused_repeats

    @property
    def finished(self) -> bool:
        """Every row reached a final status: delivered, or a failure the provider reported."""
        return not self.lost and set(self.statuses) <= {"delivered", "permanent-failure", "temporary-failure"}

    def describe(self) -> str:
        shown = ", ".join(f"{status} {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.rows} notifications ({shown}); lost {len(self.lost)}, duplicated {self.duplicated} "
            f"({len(self.copies)} references held twice or more, {self.refused_repeats} repeated sends refused), "
            f"unknown to notify {len(self.unknown)}"
        )


def provider_copies(store: Path) -> Counter[str]:
    """Reference -> how many copies the fake provider holds, across its providers."""
    with sqlite3.connect(store / SMS_DB_FILE, timeout=10) as conn:
        rows = conn.execute("SELECT reference, count(*) FROM messages GROUP BY reference").fetchall()
    return Counter(dict(rows))


async def notification_statuses(db: Database) -> dict[str, str]:
    async with db.read_session() as session:
        rows = (await session.execute(text("SELECT CAST(id AS text), status FROM notifications"))).all()
    return dict(rows)


async def compare(db: Database, store: Path, accepted: Collection[str] = ()) -> Delivery:
    """`accepted`: ids the API answered 201 for, when the caller knows them (a load generator that counts only
    statuses does not): one without a row is lost too."""
    statuses = await notification_statuses(db)
    copies = provider_copies(store)
    repeats = sum(sms_stats(store).get("duplicates", {}).values())
    return Delivery(
        statuses=Counter(statuses.values()),
        lost=sorted(ident for ident in {*statuses, *accepted} if ident not in copies),
        copies={ref: n for ref, n in copies.items() if n > 1},
        refused_repeats=repeats,
        unknown=sorted(ref for ref in copies if ref not in statuses),
    )


async def wait_for_delivery(
    db: Database, store: Path, patience: float, accepted: Collection[str] = ()
) -> tuple[Delivery, float]:
    """Compare until every notification is finished (or `patience` seconds pass); returns the last comparison and
    how long it took."""
    started = time.monotonic()
    while True:
        found = await compare(db, store, accepted)
        waited = time.monotonic() - started
        if found.finished or waited >= patience:
            return found, waited
        await asyncio.sleep(0.5)
