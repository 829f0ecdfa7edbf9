"""Delivering tenant pushes before a page answers, and what the components made of them.

A console form that changes tenant state commits the change with its pushes, as every change does (the outbox is
the one way tenant state travels), then calls `settle` to deliver those pushes at once, with the claim and HTTP call
the gateway worker's sweeper makes (`Pusher.deliver`), and learns each component's verdict:

- delivered: the component holds the change;
- refused: the component answered 4xx; its message, and the place in the document it names if it names one
  (`settings.sms_sender: ...`), are for the form to show, and the caller puts its own change back;
- pending: the component could not be reached, or answered 5xx, or did not answer in time. The change stays saved:
  the push is durable and the sweeper delivers it, and a refusal that comes then is shown from the latest push
  (`latest`), so one policy holds for every form.

A push another process holds the lease on (the after-response delivery of an earlier request, or the sweeper) is
waited for, up to `WAIT_SECONDS`. A push a later change superseded is followed to the push that superseded it, which
carries this change too, since it was built from the state after this change committed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from gateway.sync.documents import DOCUMENTS, path_of
from gateway.sync.models import DELIVERED, PENDING, REJECTED, SUPERSEDED, TenantPush
from gateway.sync.service import Pusher

#: How long to wait for a push another process is delivering (the pusher's own HTTP timeout is 10 s).
WAIT_SECONDS = 12.0
POLL_SECONDS = 0.1
#: A refusal's message that names the place in the document it is about: `settings.sms_sender: too short`.
LOCATION = re.compile(r"^([A-Za-z_][\w.]*): (.+)$", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    """What a component made of a push: `delivered`, `rejected` (refused) or `pending` (not taken yet)."""

    status: str
    #: The component's message when it refused; the last delivery failure (if any) while pending.
    message: str = ""
    #: Where in the document a refusal points (`settings.sms_sender`), when its message says.
    location: str = ""

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED

    @property
    def refused(self) -> bool:
        return self.status == REJECTED

    @property
    def pending(self) -> bool:
        return self.status == PENDING


def refusal_of(answer: str | None) -> tuple[str, str]:
    """(location, message) of a component's refusal: the message of its platform error envelope (or the answer
    itself, if it is not one), split at a leading `settings.x.y: ` where there is one."""
    text = answer or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        text = str(body["message"])
    found = LOCATION.match(text)
    return (found.group(1), found.group(2)) if found else ("", text)


def verdict_of(status: str, last_error: str | None) -> Verdict:
    if status == REJECTED:
        location, message = refusal_of(last_error)
        return Verdict(REJECTED, message, location)
    return Verdict(status, last_error or "")


async def _successor(session: AsyncSession, push: Any) -> uuid.UUID | None:
    """The newest push of the same resource that is not superseded itself."""
    query = (
        select(TenantPush.id)
        .where(
            TenantPush.component == push.component,
            TenantPush.path == push.path,
            TenantPush.status != SUPERSEDED,
            TenantPush.version >= push.version,
        )
        .order_by(TenantPush.version.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _settle_one(db: Database, pusher: Pusher, push_id: uuid.UUID, deadline: float) -> Verdict:
    columns = (TenantPush.status, TenantPush.last_error, TenantPush.component, TenantPush.path, TenantPush.version)
    while True:
        ours = await pusher.deliver(push_id) is not None
        async with db.read_session() as session:
            push = (await session.execute(select(*columns).where(TenantPush.id == push_id))).one()
            successor = await _successor(session, push) if push.status == SUPERSEDED else None
        if push.status == SUPERSEDED:
            if successor is None:  # not reached: a push is superseded only by one scheduled with it
                return Verdict(PENDING)
            push_id = successor
            continue
        # Pending, not attempted by us and never failed: another process holds its first attempt.
        delivering_elsewhere = push.status == PENDING and not ours and push.last_error is None
        if delivering_elsewhere and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            continue
        return verdict_of(push.status, push.last_error)


async def settle(db: Database, pusher: Pusher, push_ids: Sequence[uuid.UUID]) -> list[Verdict]:
    """Deliver these (committed) pushes now, together, and return each one's verdict, in their order."""
    deadline = time.monotonic() + WAIT_SECONDS
    return list(await asyncio.gather(*(_settle_one(db, pusher, push_id, deadline) for push_id in push_ids)))


async def latest(
    session: AsyncSession, service_id: uuid.UUID, components: Iterable[str] = DOCUMENTS
) -> dict[str, Verdict]:
    """Each component's verdict on its newest push of this service: tells the pages of a refusal that came after
    they answered (the component was unreachable then) or of a change made elsewhere (the admin API, the CLI)."""
    verdicts = {}
    for component in components:
        query = (
            select(TenantPush.status, TenantPush.last_error)
            .where(
                TenantPush.component == component,
                TenantPush.path == path_of(component, service_id),
                TenantPush.status != SUPERSEDED,
            )
            .order_by(TenantPush.version.desc())
            .limit(1)
        )
        row = (await session.execute(query)).first()
        if row is not None:
            verdicts[component] = verdict_of(row.status, row.last_error)
    return verdicts


async def last_accepted(session: AsyncSession, service_id: uuid.UUID, component: str) -> dict[str, Any] | None:
    """The newest document of this service the component accepted: what it holds now."""
    query = (
        select(TenantPush.document)
        .where(
            TenantPush.component == component,
            TenantPush.path == path_of(component, service_id),
            TenantPush.status == DELIVERED,
        )
        .order_by(TenantPush.version.desc())
        .limit(1)
    )
    document: dict[str, Any] | None = (await session.execute(query)).scalar_one_or_none()
    return document
