"""Every payment query. Reads are scoped to the caller's account (service and mode): another account's payment,
including the same service's other mode, is simply not there (§2)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.payments.models import NextUrlToken, Payment, PaymentEvent


async def get(
    session: AsyncSession, service_id: uuid.UUID, mode: str, payment_id: str, *, for_update: bool = False
) -> Payment | None:
    """One payment of the account; `for_update` takes the row lock on PostgreSQL (SQLite's write sessions are
    `BEGIN IMMEDIATE`, which serialises them already)."""
    query = select(Payment).where(Payment.id == payment_id, Payment.service_id == service_id, Payment.mode == mode)
    if for_update:
        query = query.with_for_update()
    payment: Payment | None = (await session.execute(query)).scalar_one_or_none()
    return payment


async def get_by_id(session: AsyncSession, payment_id: str) -> Payment | None:
    """A payment whatever its account, for the worker and `/v1/auth` (which find their account from it)."""
    payment: Payment | None = await session.get(Payment, payment_id)
    return payment


async def get_by_auth_token(session: AsyncSession, token_hash: str) -> Payment | None:
    payment: Payment | None = (
        await session.execute(select(Payment).where(Payment.auth_token_hash == token_hash))
    ).scalar_one_or_none()
    return payment


async def events(session: AsyncSession, payment_id: str) -> Sequence[PaymentEvent]:
    query = select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
    return (await session.execute(query)).scalars().all()


def add_next_url_token(session: AsyncSession, payment_id: str, token_hash: str, now: datetime) -> None:
    session.add(NextUrlToken(token_hash=token_hash, payment_id=payment_id, created_at=now))


async def get_next_url_token(session: AsyncSession, token_hash: str) -> NextUrlToken | None:
    token: NextUrlToken | None = await session.get(NextUrlToken, token_hash)
    return token


async def use_next_url_token(session: AsyncSession, token_hash: str, used_by: str) -> bool:
    """Mark an unused token used by one browser session: one conditional UPDATE, so two exchanges of the same
    token cannot both win."""
    result = await session.execute(
        update(NextUrlToken)
        .where(NextUrlToken.token_hash == token_hash, NextUrlToken.used.is_(False))
        .values(used=True, used_by=used_by)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def purge_next_url_tokens(session: AsyncSession, created_before: datetime) -> int:
    result = await session.execute(delete(NextUrlToken).where(NextUrlToken.created_at < created_before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PaymentFilters:
    """§5.4's search filters, parsed; None means "not given"."""

    reference: str | None = None
    email: str | None = None
    statuses: Sequence[str] | None = None
    card_brand: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    from_settled_date: date | None = None
    to_settled_date: date | None = None
    cardholder_name: str | None = None
    first_digits: str | None = None
    last_digits: str | None = None
    agreement_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.reference is not None:
            found.append(func.lower(Payment.reference) == self.reference.lower())
        if self.email is not None:
            found.append(func.lower(Payment.email).contains(self.email.lower(), autoescape=True))
        if self.statuses is not None:
            found.append(Payment.status.in_(list(self.statuses)))
        if self.card_brand is not None:
            found.append(Payment.card_brand == self.card_brand)
        if self.from_date is not None:
            found.append(Payment.created_at >= self.from_date)
        if self.to_date is not None:
            found.append(Payment.created_at < self.to_date)
        if self.from_settled_date is not None:
            found.append(Payment.settled_date >= self.from_settled_date)
        if self.to_settled_date is not None:
            found.append(Payment.settled_date <= self.to_settled_date)
        if self.cardholder_name is not None:
            found.append(func.lower(Payment.cardholder_name).contains(self.cardholder_name.lower(), autoescape=True))
        if self.first_digits is not None:
            found.append(Payment.first_digits == self.first_digits)
        if self.last_digits is not None:
            found.append(Payment.last_digits == self.last_digits)
        if self.agreement_id is not None:
            found.append(Payment.agreement_id == self.agreement_id)
        return found


async def search(
    session: AsyncSession,
    service_id: uuid.UUID,
    mode: str,
    filters: PaymentFilters,
    *,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[Payment]]:
    """(total matches, one page newest first: `created_date` descending, then ID)."""
    where = [Payment.service_id == service_id, Payment.mode == mode, *filters.conditions()]
    total = (await session.execute(select(func.count()).select_from(Payment).where(*where))).scalar_one()
    query = (
        select(Payment).where(*where).order_by(Payment.created_at.desc(), Payment.id.desc()).offset(offset).limit(limit)
    )
    return int(total), (await session.execute(query)).scalars().all()


async def ids_in(
    session: AsyncSession,
    statuses: Sequence[str],
    *,
    created_before: datetime,
    updated_before: datetime | None = None,
    limit: int,
) -> list[str]:
    """IDs of payments in `statuses` created before a time (and last changed before another): the expiry sweep."""
    query = select(Payment.id).where(Payment.status.in_(list(statuses)), Payment.created_at < created_before)
    if updated_before is not None:
        query = query.where(Payment.updated_at < updated_before)
    return list((await session.execute(query.order_by(Payment.created_at).limit(limit))).scalars())
