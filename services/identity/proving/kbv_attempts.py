"""One knowledge-based check a day per account (spec §10.4, "KBV allows 1 attempt per 24 h"), whichever journey asks
the questions: proving (`proving/endpoints.py`) and the fresh check that keeps a proven identity when a lost second
factor is replaced (`accounts/lost_factor_kbv.py`). One counter for both, so neither journey can be used to get a
second go at the other's questions.

An attempt is a set of answers sent to the source, not a page of questions shown: the attempt is taken (atomically,
so two tabs cannot both answer) just before the answers go, and given back when the source could not take them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.identity.accounts.codes import Limit

if TYPE_CHECKING:
    from services.identity.deps import Provider

KBV_ATTEMPTS = Limit(1, 86_400)
KIND = "kbv-attempt"


async def used_today(op: Provider, user_id: str) -> bool:
    """Whether the account has answered knowledge-based questions in the last 24 hours."""
    return await op.counters.exceeded(KIND, user_id, KBV_ATTEMPTS)


async def take(op: Provider, user_id: str) -> bool:
    """Take the day's attempt; False when it was already taken (by this journey or the other)."""
    return await op.counters.hit(KIND, user_id, KBV_ATTEMPTS) <= KBV_ATTEMPTS.max_count


async def give_back(op: Provider, user_id: str) -> None:
    """The source could not take the answers: the attempt was not made. Only the journey that just took the one
    attempt calls this, so clearing the counter gives back exactly that attempt."""
    await op.counters.clear(KIND, user_id)
