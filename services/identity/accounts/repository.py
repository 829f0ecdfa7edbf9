"""Every query on accounts."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.identity.accounts.models import User


async def by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email.lower()))).scalar_one_or_none()


async def by_id(session: AsyncSession, user_id: uuid.UUID | str) -> User | None:
    return await session.get(User, uuid.UUID(str(user_id)))


async def use_totp_step(session: AsyncSession, user_id: uuid.UUID, counter: int) -> bool:
    """Record an accepted TOTP step, atomically: False if this step (or a later one) was already used."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(User)
            .where(User.id == user_id, or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter))
            .values(totp_last_counter=counter, updated_at=utcnow())
        ),
    )
    return result.rowcount == 1


async def set_password_hash(session: AsyncSession, user_id: uuid.UUID, password_hash: str) -> None:
    await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=utcnow())
    )
