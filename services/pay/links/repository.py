"""Every query of the payment links."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pay.links.models import LinkPayment, LinkServiceSlug, PaymentLink


async def get(session: AsyncSession, service_id: uuid.UUID, mode: str, link_id: str) -> PaymentLink | None:
    """The account's link, or None (another account's link is "not found")."""
    link = await session.get(PaymentLink, link_id)
    return link if link is not None and link.service_id == service_id and link.mode == mode else None


async def of_account(
    session: AsyncSession, service_id: uuid.UUID, mode: str, *, archived: bool | None = None
) -> list[PaymentLink]:
    """The account's links, newest first; only active or only archived ones when `archived` says."""
    query = select(PaymentLink).where(PaymentLink.service_id == service_id, PaymentLink.mode == mode)
    if archived is not None:
        query = query.where(PaymentLink.archived_at.is_not(None) if archived else PaymentLink.archived_at.is_(None))
    rows = await session.execute(query.order_by(PaymentLink.created_at.desc(), PaymentLink.id))
    return list(rows.scalars())


async def by_address(session: AsyncSession, service_slug: str, slug: str) -> PaymentLink | None:
    row = await session.execute(
        select(PaymentLink).where(PaymentLink.service_slug == service_slug, PaymentLink.slug == slug)
    )
    return row.scalar_one_or_none()


async def slug_owner(session: AsyncSession, service_slug: str) -> uuid.UUID | None:
    claim = await session.get(LinkServiceSlug, service_slug)
    return claim.service_id if claim is not None else None


async def first_service_slug(session: AsyncSession, service_id: uuid.UUID) -> str | None:
    """The first service slug the service claimed: its links' default."""
    row = await session.execute(
        select(LinkServiceSlug.service_slug)
        .where(LinkServiceSlug.service_id == service_id)
        .order_by(LinkServiceSlug.created_at, LinkServiceSlug.service_slug)
        .limit(1)
    )
    return row.scalar_one_or_none()


async def slugs_like(session: AsyncSession, service_slug: str, base: str) -> set[str]:
    """The link slugs under `service_slug` that are `base` or `base-<something>`."""
    rows = await session.execute(
        select(PaymentLink.slug).where(
            PaymentLink.service_slug == service_slug,
            or_(PaymentLink.slug == base, PaymentLink.slug.startswith(base + "-", autoescape=True)),
        )
    )
    return set(rows.scalars())


async def link_payment(session: AsyncSession, link_payment_id: str) -> LinkPayment | None:
    found: LinkPayment | None = await session.get(LinkPayment, link_payment_id)
    return found
