"""Payment-link rules for the internal API (pay spec §15 B4): create, change, archive, and the JSON the console
reads. Services only flush; the request's session commits (ARCHITECTURE rule 1).

A new link's address is `/link/{service_slug}/{slug}`. The service slug defaults to the first one the service
claimed, else to its name; a service slug another service has claimed is refused, so one service can never publish
links under another's name. The link slug defaults to the title's, with `-2`, `-3`, ... added when that is taken.
An address never changes once made, since it is printed and sent to citizens; archiving is final.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.errors import Conflict, NotFound
from services.pay.accounts.models import Account
from services.pay.formats import datetime_ms
from services.pay.ids import new_id
from services.pay.links import repository as repo
from services.pay.links.models import SLUG_LENGTH, LinkServiceSlug, PaymentLink
from services.pay.links.validation import MESSAGES, InvalidLink, LinkAddress, LinkDetails, slugify

SERVICE_SLUG_TAKEN = "Another service uses this name in its links’ addresses: choose another"
ADDRESS_TAKEN = "The service already has a link at this address: choose another"
NO_SERVICE_SLUG = "Choose the service part of the address: the service’s name has no letters or numbers to use"


def address_taken(field: str, message: str) -> Conflict:
    return Conflict(
        "The payment link's address is taken",
        code="PaymentLinkAddressTaken",
        errors=[{"field": field, "message": message}],
    )


def link_missing() -> NotFound:
    return NotFound("No such payment link", code="PaymentLinkNotFound")


def public_url(frontend_root: str, link: PaymentLink) -> str:
    return f"{frontend_root}/link/{link.service_slug}/{link.slug}"


def link_json(link: PaymentLink, frontend_root: str) -> dict[str, Any]:
    return {
        "id": link.id,
        "mode": link.mode,
        "title": link.title,
        "description": link.description,
        "amount": link.amount,
        "min_amount": link.min_amount,
        "max_amount": link.max_amount,
        "reference_label": link.reference_label,
        "reference_hint": link.reference_hint,
        "language": link.language,
        "metadata": link.metadata_ or {},
        "service_slug": link.service_slug,
        "slug": link.slug,
        "url": public_url(frontend_root, link),
        "status": "archived" if link.archived else "active",
        "created_date": datetime_ms(link.created_at),
        "updated_date": datetime_ms(link.updated_at),
        "archived_date": datetime_ms(link.archived_at) if link.archived_at else None,
    }


async def create(
    session: AsyncSession, account: Account, details: LinkDetails, address: LinkAddress, now: datetime
) -> PaymentLink:
    service_slug = await _claim_service_slug(session, account, address.service_slug, now)
    if address.slug is not None:
        if await repo.by_address(session, service_slug, address.slug) is not None:
            raise address_taken("slug", ADDRESS_TAKEN)
        slug = address.slug
    else:
        slug = await _free_slug(session, service_slug, slugify(details.title))
    link = PaymentLink(
        id=new_id(),
        service_id=account.service_id,
        mode=account.mode,
        service_slug=service_slug,
        slug=slug,
        created_at=now,
        updated_at=now,
        **_columns(details),
    )
    session.add(link)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent request took the address first; the request rolls back
        raise address_taken("slug", ADDRESS_TAKEN) from None
    return link


async def update(
    session: AsyncSession, service_id: uuid.UUID, mode: str, link_id: str, details: LinkDetails, now: datetime
) -> PaymentLink:
    """New details for an active link; its address stays."""
    link = await _active(session, service_id, mode, link_id)
    for name, value in _columns(details).items():
        setattr(link, name, value)
    link.updated_at = now
    await session.flush()
    return link


async def archive(session: AsyncSession, service_id: uuid.UUID, mode: str, link_id: str, now: datetime) -> PaymentLink:
    """The link stops taking payments; archiving an archived link changes nothing."""
    link = await repo.get(session, service_id, mode, link_id)
    if link is None:
        raise link_missing()
    if not link.archived:
        link.archived_at = link.updated_at = now
        await session.flush()
    return link


async def _active(session: AsyncSession, service_id: uuid.UUID, mode: str, link_id: str) -> PaymentLink:
    link = await repo.get(session, service_id, mode, link_id)
    if link is None:
        raise link_missing()
    if link.archived:
        raise Conflict("An archived payment link cannot be changed", code="PaymentLinkArchived")
    return link


def _columns(details: LinkDetails) -> dict[str, Any]:
    values = asdict(details)
    values["metadata_"] = values.pop("metadata")
    return values


async def _claim_service_slug(session: AsyncSession, account: Account, asked: str | None, now: datetime) -> str:
    service_slug = asked or await repo.first_service_slug(session, account.service_id) or slugify(account.service_name)
    if not service_slug:
        raise InvalidLink([{"field": "service_slug", "message": NO_SERVICE_SLUG}])
    owner = await repo.slug_owner(session, service_slug)
    if owner is None:
        session.add(LinkServiceSlug(service_slug=service_slug, service_id=account.service_id, created_at=now))
    elif owner != account.service_id:
        raise address_taken("service_slug", SERVICE_SLUG_TAKEN)
    return service_slug


async def _free_slug(session: AsyncSession, service_slug: str, base: str) -> str:
    """`base`, or `base-N` with the smallest N ≥ 2 that no link of this service slug uses."""
    if not base:
        raise InvalidLink([{"field": "slug", "message": MESSAGES["no_slug"]}])
    base = base[: SLUG_LENGTH - 4].rstrip("-")
    taken = await repo.slugs_like(session, service_slug, base)
    number, slug = 1, base
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug
