"""Inbound texts through the SMS providers' webhook (notify spec §15): the fake provider plays someone's phone and
posts the text, with its Basic credentials, through the gateway to `/notifications/sms/receive/<provider>`; notify
stores it for the number's service (content encrypted) and the official client lists it (§6.4)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.embedded.fake_sms import default_credentials
from services.notify.inbound.models import InboundNumber, InboundSms
from tests.notify.conftest import NotifyRig, SmsFake
from tests.notify.inbound.test_received_texts import allow_inbound, client, in_notify_db, inbound_number

MMG = default_credentials("mmg")


@pytest.fixture
def our_number(notify_rig: NotifyRig) -> Iterator[str]:
    """A number of the rig's service, received through `mmg`; its texts are removed afterwards, so the listing
    tests of `test_received_texts` see only their own."""

    async def assign(session: AsyncSession) -> str:
        await allow_inbound(session, notify_rig.service_id)
        return await inbound_number(session, notify_rig.service_id)

    number = in_notify_db(notify_rig, assign)
    yield number

    async def forget(session: AsyncSession) -> None:
        await session.execute(delete(InboundSms).where(InboundSms.notify_number == number))
        await session.execute(delete(InboundNumber).where(InboundNumber.number == number))

    in_notify_db(notify_rig, forget)


def post_inbound(rig: NotifyRig, body: dict[str, Any], *, provider: str = "mmg", auth: Any = MMG) -> httpx.Response:
    return httpx.post(f"{rig.url}/notifications/sms/receive/{provider}", json=body, auth=auth)


def test_a_text_to_our_number_is_stored_and_listed(notify_rig: NotifyRig, sms_fake: SmsFake, our_number: str) -> None:
    content = f"Yes please ✅ {uuid.uuid4().hex[:6]}"
    forwarded = sms_fake.text_in("mmg", to="0" + our_number[2:], sender="07700 900456", content=content)
    assert forwarded.status_code == 200 and forwarded.json()["status_code"] == 200

    newest = client(notify_rig).get_received_texts()["received_text_messages"][0]
    assert newest["content"] == content
    assert (newest["user_number"], newest["notify_number"]) == ("447700900456", our_number)
    assert newest["service_id"] == str(notify_rig.service_id)

    async def raw(session: AsyncSession) -> tuple[str, str, str | None]:
        query = text("SELECT content, provider, provider_reference FROM inbound_sms WHERE id = :id")
        row = (await session.execute(query, {"id": uuid.UUID(newest["id"])})).one()
        return row[0], row[1], row[2]

    stored, provider, reference = in_notify_db(notify_rig, raw)
    assert "Yes please" not in stored  # encrypted at rest
    assert provider == "mmg" and reference == forwarded.json()["id"]


def test_a_text_to_a_number_notify_does_not_hold_is_answered_200_and_dropped(
    notify_rig: NotifyRig, sms_fake: SmsFake
) -> None:
    before = client(notify_rig).get_received_texts()["received_text_messages"]
    forwarded = sms_fake.text_in("firetext", to="+447700900998", sender="07700900456", content="Anyone there?")
    assert forwarded.status_code == 200 and forwarded.json()["status_code"] == 200
    answer = post_inbound(notify_rig, {"id": "x-1", "to": "+1 202 555 0143", "from": "07700900456", "content": "?"})
    assert answer.status_code == 200 and answer.json() == {"result": "ignored", "id": None}
    assert client(notify_rig).get_received_texts()["received_text_messages"] == before


def test_a_text_posted_twice_is_stored_once(notify_rig: NotifyRig, our_number: str) -> None:
    body = {"id": f"mmg-{uuid.uuid4()}", "to": our_number, "from": "07700900456", "content": "Once only"}
    first, second = post_inbound(notify_rig, body), post_inbound(notify_rig, body)
    assert first.status_code == second.status_code == 200
    assert first.json()["result"] == "stored" and first.json() == second.json()
    listed = [t for t in client(notify_rig).get_received_texts_iterator() if t["content"] == "Once only"]
    assert [t["id"] for t in listed] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("auth", "provider", "status"),
    [
        (None, "mmg", 401),
        (("mmg", "wrong"), "mmg", 401),
        (default_credentials("firetext"), "mmg", 401),
        (MMG, "twilio", 404),
    ],
)
def test_only_a_configured_provider_with_its_credentials_may_post(
    notify_rig: NotifyRig, our_number: str, auth: Any, provider: str, status: int
) -> None:
    body = {"id": "refused", "to": our_number, "from": "07700900456", "content": "Let me in"}
    answer = post_inbound(notify_rig, body, provider=provider, auth=auth)
    assert answer.status_code == status
    assert set(answer.json()) == {"error", "message", "request_id"}
    assert all(t["content"] != "Let me in" for t in client(notify_rig).get_received_texts_iterator())


def test_a_malformed_inbound_text_is_a_400(notify_rig: NotifyRig) -> None:
    answer = post_inbound(notify_rig, {"to": "447700900999", "content": "no sender"})
    assert answer.status_code == 400 and answer.json()["error"] == "BadRequest"
