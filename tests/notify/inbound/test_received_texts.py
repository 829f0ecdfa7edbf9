"""Received text messages (notify spec §6.4, §15): stored through `record_inbound` as a provider adapter stores them,
read back with the official client through the gateway, on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.engine import Database
from services.notify.inbound.models import InboundNumber, InboundSms
from services.notify.inbound.service import record_inbound
from services.notify.tenancy.models import NotifyService
from tests.notify.conftest import NotifyRig, manage

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MESSAGES = 260
T = TypeVar("T")


# --- factories ---------------------------------------------------------------------------------------------------


def in_notify_db(rig: NotifyRig, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed write session on the rig's notify database (the notify app registered the
    `notify` keyring in this process, so encrypted columns work here as they do in the app)."""

    async def run() -> T:
        db = Database(rig.notify_db, pool_size=1)
        try:
            async with db.write_session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


def drama_number() -> str:
    """A fresh number from Ofcom's drama range, in the E.164 form inbound numbers are stored in."""
    return f"447700900{random.randrange(1000):03d}"


async def inbound_number(session: AsyncSession, service_id: uuid.UUID | None, *, active: bool = True) -> str:
    number = drama_number()
    while (await session.execute(text("SELECT 1 FROM inbound_numbers WHERE number = :n"), {"n": number})).first():
        number = drama_number()
    session.add(InboundNumber(number=number, provider="mmg", service_id=service_id, active=active))
    await session.flush()
    return number


async def allow_inbound(session: AsyncSession, service_id: uuid.UUID) -> None:
    service = await session.get(NotifyService, service_id)
    assert service is not None
    service.permissions = sorted({*service.permissions, "inbound_sms"})


async def other_service(session: AsyncSession, permissions: list[str]) -> uuid.UUID:
    service = NotifyService(id=uuid.uuid4(), name="Another service", permissions=permissions)
    session.add(service)
    await session.flush()
    return service.id


async def receive(
    session: AsyncSession, notify_number: str, content: str, received_at: datetime, sender: str = "07700 900123"
) -> InboundSms | None:
    return await record_inbound(
        session,
        notify_number=notify_number,
        user_number=sender,
        content=content,
        provider="mmg",
        provider_reference=uuid.uuid4().hex,
        received_at=received_at,
    )


def client(rig: NotifyRig) -> NotificationsAPIClient:
    return NotificationsAPIClient(rig.keys["live"], base_url=rig.url)


def endpoint(rig: NotifyRig) -> str:
    return f"{rig.url}/v2/received-text-messages"


# --- the service's inbox -----------------------------------------------------------------------------------------


@dataclass
class Inbox:
    number: str
    base: datetime
    #: What GET must list, newest first: created_at descending, then id descending.
    messages: list[InboundSms]


@pytest.fixture(scope="module")
def inbox(notify_rig: NotifyRig) -> Inbox:
    """260 messages to the rig service's number, one a second back from `base` (whole seconds, so the format's
    zero microseconds show), except that #250 shares #249's timestamp, so a page boundary falls inside a tie."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    async def work(session: AsyncSession) -> Inbox:
        await allow_inbound(session, notify_rig.service_id)
        number = await inbound_number(session, notify_rig.service_id)
        stored = []
        for i in range(MESSAGES):
            at = base - timedelta(seconds=249 if i == 250 else i)
            message = await receive(session, number, f"Message {i}: yes please ✅", at)
            assert message is not None
            stored.append(message)
        stored.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return Inbox(number, base, stored)

    return in_notify_db(notify_rig, work)


def test_pages_newest_first_with_the_official_client(notify_rig: NotifyRig, inbox: Inbox) -> None:
    api = client(notify_rig)
    expected = [str(m.id) for m in inbox.messages]

    first = api.get_received_texts()
    assert [t["id"] for t in first["received_text_messages"]] == expected[:250]
    assert first["links"] == {
        "current": endpoint(notify_rig),
        "next": f"{endpoint(notify_rig)}?older_than={expected[249]}",
    }

    second = api.get_received_texts(older_than=expected[249])
    assert [t["id"] for t in second["received_text_messages"]] == expected[250:]
    assert second["links"] == {
        "current": endpoint(notify_rig),
        "next": f"{endpoint(notify_rig)}?older_than={expected[-1]}",
    }

    assert api.get_received_texts(older_than=expected[-1]) == {
        "received_text_messages": [],
        "links": {"current": endpoint(notify_rig)},
    }
    assert [t["id"] for t in api.get_received_texts_iterator()] == expected


def test_item_shape_and_date_format(notify_rig: NotifyRig, inbox: Inbox) -> None:
    newest = client(notify_rig).get_received_texts()["received_text_messages"][0]
    assert newest == {
        "id": str(inbox.messages[0].id),
        "user_number": "447700900123",
        "notify_number": inbox.number,
        "created_at": inbox.base.strftime("%Y-%m-%dT%H:%M:%S") + ".000000Z",
        "service_id": str(notify_rig.service_id),
        "content": "Message 0: yes please ✅",
    }
    assert DATETIME.match(newest["created_at"])


def test_content_is_encrypted_at_rest(notify_rig: NotifyRig, inbox: Inbox) -> None:
    message = inbox.messages[0]

    async def raw(session: AsyncSession) -> str:
        query = text("SELECT content FROM inbound_sms WHERE id = :id")
        return str((await session.execute(query, {"id": message.id})).scalar_one())

    stored = in_notify_db(notify_rig, raw)
    assert stored != message.content
    assert "yes please" not in stored


def test_other_services_texts_are_invisible(notify_rig: NotifyRig, inbox: Inbox) -> None:
    async def work(session: AsyncSession) -> InboundSms | None:
        service_id = await other_service(session, ["sms", "inbound_sms"])
        number = await inbound_number(session, service_id)
        return await receive(session, number, "For the other service", inbox.base + timedelta(minutes=1))

    theirs = in_notify_db(notify_rig, work)
    assert theirs is not None
    api = client(notify_rig)
    listed = [t["id"] for t in api.get_received_texts_iterator()]
    assert str(theirs.id) not in listed
    assert len(listed) == MESSAGES
    # Their id as a cursor is as unknown as any other id.
    assert api.get_received_texts(older_than=str(theirs.id))["received_text_messages"] == []


def test_unknown_older_than_gives_an_empty_page(notify_rig: NotifyRig, inbox: Inbox) -> None:
    assert client(notify_rig).get_received_texts(older_than=str(uuid.uuid4())) == {
        "received_text_messages": [],
        "links": {"current": endpoint(notify_rig)},
    }


def test_texts_past_sms_retention_are_not_listed(notify_rig: NotifyRig, inbox: Inbox) -> None:
    old = in_notify_db(
        notify_rig, lambda s: receive(s, inbox.number, "Too old", datetime.now(UTC) - timedelta(days=7, minutes=1))
    )
    assert old is not None
    api = client(notify_rig)
    assert str(old.id) not in [t["id"] for t in api.get_received_texts_iterator()]
    assert api.get_received_texts(older_than=str(old.id))["received_text_messages"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo=bar", "Additional properties are not allowed (foo was unexpected)"),
        (
            "older_than=5d28cc8a-cce2-4c17-8d87-66d4cbc4f7c6&page=2",
            "Additional properties are not allowed (page was unexpected)",
        ),
        ("older_than=nope", "older_than is not a valid UUID"),
        ("older_than=", "older_than is not a valid UUID"),
    ],
)
def test_bad_parameters_give_the_schema_400(notify_rig: NotifyRig, query: str, message: str) -> None:
    with manage(notify_rig.url, notify_rig.keys["live"]) as api:
        response = api.get(f"/v2/received-text-messages?{query}")
    assert response.status_code == 400
    assert response.json() == {"status_code": 400, "errors": [{"error": "ValidationError", "message": message}]}
    with pytest.raises(HTTPError) as raised:
        client(notify_rig).get(f"/v2/received-text-messages?{query}")
    assert raised.value.message == [{"error": "ValidationError", "message": message}]


# --- record_inbound: what the provider adapters call ------------------------------------------------------------


def test_record_inbound_maps_numbers_in_any_form_to_international_form(notify_rig: NotifyRig) -> None:
    """On a service of its own, so the rig service's inbox stays exactly what the listing tests expect."""

    async def work(session: AsyncSession) -> tuple[str, uuid.UUID, list[InboundSms | None]]:
        service_id = await other_service(session, ["sms", "inbound_sms"])
        number = await inbound_number(session, service_id)
        when = datetime.now(UTC)
        return (
            number,
            service_id,
            [
                await receive(session, "+" + number, "plus", when, sender="+44 7700 900 456"),
                await receive(session, "0" + number[2:], "national", when, sender="GOVUK"),
            ],
        )

    number, service_id, (plus, national) = in_notify_db(notify_rig, work)
    assert plus is not None and national is not None
    assert (plus.notify_number, plus.user_number, plus.service_id) == (number, "447700900456", service_id)
    # A sender that is no phone number (an alphanumeric sender id) is kept as given rather than losing the text.
    assert (national.notify_number, national.user_number, national.service_id) == (number, "GOVUK", service_id)


def test_record_inbound_stores_nothing_for_numbers_it_cannot_place(notify_rig: NotifyRig, inbox: Inbox) -> None:
    async def work(session: AsyncSession) -> list[InboundSms | None]:
        when = datetime.now(UTC)
        no_permission = await other_service(session, ["sms"])
        archived = await other_service(session, ["sms", "inbound_sms"])
        archived_row = await session.get(NotifyService, archived)
        assert archived_row is not None
        archived_row.active = False
        numbers = [
            "+1 202 555 0143",  # not one of ours in any form
            await inbound_number(session, None),  # spare, in the pool
            await inbound_number(session, notify_rig.service_id, active=False),
            await inbound_number(session, no_permission),
            await inbound_number(session, archived),
        ]
        stored = [await receive(session, number, "Lost", when) for number in numbers]
        count = await session.execute(
            text("SELECT count(*) FROM inbound_sms WHERE service_id IN (:a, :b)"), {"a": no_permission, "b": archived}
        )
        assert count.scalar_one() == 0
        return stored

    assert in_notify_db(notify_rig, work) == [None] * 5
