"""Notify's usage statistics (`GET /internal/services/{id}/usage`): messages per UTC day by channel and status group,
counted in the database on PostgreSQL and SQLite alike (live and history rows, never test keys), and today's daily
limits with what the Redis counters say is used; only the gateway, for that service, may ask."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.internal import INTERNAL_SCOPE
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from gaap.usage import DayRange
from gateway.demo_templates import NotifyKeyAuth
from services.notify.app import register_keyring
from services.notify.delivery.history import NotificationHistory
from services.notify.limits.counters import DailyCounts
from services.notify.notifications.models import Notification
from services.notify.statuses import STATUSES
from services.notify.tenancy.models import NotifyService
from services.notify.usage import service
from services.notify.usage.service import GROUP_OF
from tests.gateway.conftest import MASTER
from tests.notify.conftest import ROOT, NotifyRig, notify_settings

WEEK = DayRange(date(2026, 3, 1), date(2026, 3, 7))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def message(service_id: uuid.UUID, created: str, channel: str = "email", status: str = "delivered", **values: object):  # type: ignore[no-untyped-def]
    return Notification(
        id=uuid.uuid4(),
        service_id=service_id,
        key_type=values.pop("key_type", "normal"),
        notification_type=channel,
        to="someone@example.gov.uk" if channel == "email" else "07700900123",
        status=status,
        created_at=at(created),
        **values,
    )


def history(service_id: uuid.UUID, created: str, channel: str = "email", status: str = "delivered"):  # type: ignore[no-untyped-def]
    return NotificationHistory(
        id=uuid.uuid4(),
        service_id=service_id,
        key_type="normal",
        notification_type=channel,
        status=status,
        billable_units=1,
        rate_multiplier=1.0,
        international=False,
        process_type="normal",
        created_at=at(created),
        attempt=1,
    )


async def seed(db: Database, service_id: uuid.UUID) -> None:
    """A week of messages, with rows on each side of the range's edges and some that never count."""
    other = uuid.uuid4()
    async with db.write_session() as session:
        session.add_all(
            [
                NotifyService(id=service_id, name="Counted", email_message_limit=40, sms_message_limit=30),
                NotifyService(id=other, name="Another"),
            ]
        )
        await session.flush()
        session.add_all(
            [
                message(service_id, "2026-02-28T23:59:59+00:00"),  # the day before: not counted
                message(service_id, "2026-03-01T00:00:00+00:00"),  # the first moment of the range
                message(service_id, "2026-03-01T12:00:00+00:00", status="sending"),
                message(service_id, "2026-03-01T13:00:00+00:00", status="permanent-failure"),
                message(service_id, "2026-03-01T14:00:00+00:00", "sms", "sent"),
                message(service_id, "2026-03-01T15:00:00+00:00", key_type="team"),
                message(service_id, "2026-03-01T16:00:00+00:00", key_type="test"),  # test keys never count
                message(other, "2026-03-01T16:00:00+00:00"),  # another service's
                # Half past midnight at +01:00 is 23:30 UTC the day before.
                message(service_id, "2026-03-03T00:30:00+01:00", "sms", "temporary-failure"),
                message(service_id, "2026-03-07T23:59:59+00:00", "letter", "created"),  # the last moment
                message(service_id, "2026-03-08T00:00:00+00:00"),  # the day after: not counted
                message(service_id, "2026-03-05T09:00:00+00:00", status="cancelled"),
                history(service_id, "2026-03-01T10:00:00+00:00"),  # past retention: counted from history
                history(service_id, "2026-03-04T10:00:00+00:00", "letter", "returned-letter"),
            ]
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def notify_db(request: pytest.FixtureRequest, tmp_path: Path, make_postgres_database) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    register_keyring(notify_settings("sqlite+aiosqlite://", "redis://127.0.0.1", "http://127.0.0.1"))
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    else:
        url = await asyncio.to_thread(make_postgres_database, "notify_usage")
    await upgrade(ROOT / "services" / "notify" / "migrations", url)
    db = Database(url, pool_size=2)
    try:
        yield db
    finally:
        await db.dispose()


def test_every_stored_status_has_a_group() -> None:
    assert set(GROUP_OF) == set(STATUSES)


async def test_messages_are_counted_per_utc_day_channel_and_status(notify_db: Database, redis: Redis) -> None:
    service_id = uuid.uuid4()
    await seed(notify_db, service_id)
    async with notify_db.read_session() as session:
        record = await session.get(NotifyService, service_id)
        usage = await service.usage(session, DailyCounts(redis), service_id, record, WEEK, today=date(2026, 3, 7))
    days = {day.date.isoformat(): day for day in usage.days}
    assert list(days) == [f"2026-03-0{n}" for n in range(1, 8)]
    first = days["2026-03-01"]
    assert first.email.model_dump() == {"sending": 1, "delivered": 3, "failed": 1, "cancelled": 0}
    assert first.sms.model_dump() == {"sending": 0, "delivered": 1, "failed": 0, "cancelled": 0}
    assert days["2026-03-02"].sms.failed == 1  # 00:30 at +01:00 is 23:30 UTC the day before
    assert days["2026-03-03"].sms.failed == 0
    assert days["2026-03-04"].letter.failed == 1
    assert days["2026-03-05"].email.cancelled == 1
    assert days["2026-03-07"].letter.sending == 1
    assert days["2026-03-06"].model_dump(exclude={"date"}) == {
        channel: {"sending": 0, "delivered": 0, "failed": 0, "cancelled": 0} for channel in ("email", "sms", "letter")
    }
    total = sum(sum(getattr(day, c).model_dump().values()) for day in usage.days for c in ("email", "sms", "letter"))
    assert total == 10
    assert usage.today is not None and usage.today.date == date(2026, 3, 7)
    assert usage.today.daily_limits["email"].model_dump() == {"limit": 40, "used": 0}
    assert usage.today.daily_limits["sms"].limit == 30


def internal(
    rig: NotifyRig, service_id: uuid.UUID, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})
) -> httpx.Client:
    principal = Principal(request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=scopes)
    token = PrincipalSigner(parse_keyring(MASTER)).sign("notify", principal)
    return httpx.Client(base_url=rig.notify_url, headers={"X-Gaap-Principal": token}, timeout=30)


def usage_today(rig: NotifyRig) -> dict[str, object]:
    today = datetime.now(UTC).date().isoformat()
    with internal(rig, rig.service_id) as api:
        answer = api.get(f"/internal/services/{rig.service_id}/usage", params={"from": today, "to": today})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_message_sent_today_shows_in_the_day_and_in_the_daily_limit(notify_rig: NotifyRig) -> None:
    before = usage_today(notify_rig)
    with httpx.Client(base_url=notify_rig.url, auth=NotifyKeyAuth(notify_rig.keys["live"]), timeout=30) as api:
        personalisation = {"name": "Ada", "date": "1 May", "urgent": "no"}
        body = {"email_address": "usage@example.gov.uk", "template_id": notify_rig.templates["email"]}
        sent = api.post("/v2/notifications/email", json={**body, "personalisation": personalisation})
        assert sent.status_code == 201, sent.text
        test_key = NotifyKeyAuth(notify_rig.keys["test"])
        by_test_key = api.post(
            "/v2/notifications/email", json={**body, "personalisation": personalisation}, auth=test_key
        )
        assert by_test_key.status_code == 201, by_test_key.text
    after = usage_today(notify_rig)
    assert after["from"] == after["to"] == datetime.now(UTC).date().isoformat()
    sent_before = sum(before["days"][0]["email"].values())  # type: ignore[index]
    sent_after = sum(after["days"][0]["email"].values())  # type: ignore[index]
    assert sent_after == sent_before + 1  # the test key's message is not counted
    used = after["today"]["daily_limits"]["email"]  # type: ignore[index]
    assert used["used"] == before["today"]["daily_limits"]["email"]["used"] + 1  # type: ignore[index]
    assert used["limit"] > 0
    assert set(after["today"]["daily_limits"]) == {"email", "sms", "letter", "international_sms"}  # type: ignore[index]


def test_a_service_notify_never_heard_of_has_no_limits(notify_rig: NotifyRig) -> None:
    unknown = uuid.uuid4()
    with internal(notify_rig, unknown) as api:
        answer = api.get(f"/internal/services/{unknown}/usage", params={"from": "2026-03-01", "to": "2026-03-02"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["today"] is None
    assert [day["date"] for day in answer.json()["days"]] == ["2026-03-01", "2026-03-02"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-07", "to": "2026-03-01"}, "The range ends before it starts"),
        ({"from": "2026-01-01", "to": "2026-06-30"}, "The range is longer than 93 days"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from"),
        ({"to": "2026-03-01"}, "from"),
    ],
)
def test_a_bad_range_is_a_platform_400(notify_rig: NotifyRig, params: dict[str, str], message: str) -> None:
    with internal(notify_rig, notify_rig.service_id) as api:
        answer = api.get(f"/internal/services/{notify_rig.service_id}/usage", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error", "message", "request_id"} and message in body["message"]


def test_only_the_gateway_for_that_service_may_ask(notify_rig: NotifyRig) -> None:
    path = f"/internal/services/{notify_rig.service_id}/usage"
    week = {"from": "2026-03-01", "to": "2026-03-07"}
    with internal(notify_rig, notify_rig.service_id, scopes=frozenset({"notify"})) as api:
        assert api.get(path, params=week).json()["error"] == "NotInternal"
    with internal(notify_rig, uuid.uuid4()) as api:
        assert api.get(path, params=week).json()["error"] == "WrongService"
    assert httpx.get(notify_rig.notify_url + path, params=week).status_code == 401
    with httpx.Client(base_url=notify_rig.url, auth=NotifyKeyAuth(notify_rig.keys["live"])) as api:
        assert api.get(path, params=week).status_code == 404  # never routed by the gateway
