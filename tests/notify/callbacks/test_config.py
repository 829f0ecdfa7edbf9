"""notify spec §14, §14.1, §16.7: callback URLs arrive in the service document the gateway pushes; notify refuses a
URL it may not call or a short token, keeps the token and a signing secret it generates encrypted, and shows the
secret once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from gaap.db import Database
from services.notify.callbacks.config import InvalidCallback
from services.notify.tenancy import service as tenancy
from services.notify.tenancy.schemas import ServiceDocument
from tests.notify.callbacks.conftest import TOKEN


def document(version: int, **callbacks: Any) -> ServiceDocument:
    return ServiceDocument.model_validate(
        {"version": version, "name": "Callbacks", "active": True, "restricted": False, "rate_limit": 3000}
        | {"settings": {"permissions": ["email", "sms", "inbound_sms"], **callbacks}}
    )


async def push(db: Database, service_id: uuid.UUID, doc: ServiceDocument, *, development: bool = True) -> Any:
    async with db.write_session() as session:
        service, generated = await tenancy.apply_document(session, service_id, doc, development=development)
        return (await tenancy.state(session, service, generated)).callbacks


async def stored(db: Database, service_id: uuid.UUID) -> dict[str, tuple[str, str, str]]:
    async with db.read_session() as session:
        rows = await session.execute(
            text(
                "SELECT callback_type, url, bearer_token, signing_secret FROM service_callback_api"
                " WHERE service_id = :id"
            ),
            {"id": str(service_id)},
        )
        return {r.callback_type: (r.url, r.bearer_token, r.signing_secret) for r in rows}


async def test_callbacks_come_with_the_service_document(db: Database) -> None:
    service_id = uuid.uuid4()
    setting = {"url": "https://service.example/callbacks", "bearer_token": TOKEN}
    first = await push(db, service_id, document(1, delivery_status_callback=setting))
    assert set(first) == {"delivery_status"}
    secret = first["delivery_status"].signing_secret
    assert secret is not None and len(bytes.fromhex(secret)) == 32

    [(url, token, sealed)] = (await stored(db, service_id)).values()
    assert url == setting["url"] and TOKEN not in token and secret not in sealed  # encrypted at rest

    moved = {"url": "https://service.example/v2", "bearer_token": TOKEN + "-new"}
    again = await push(db, service_id, document(2, delivery_status_callback=moved, inbound_sms_callback=setting))
    assert again["delivery_status"].signing_secret is None  # shown once; kept while configured
    assert again["delivery_status"].url == moved["url"]
    assert again["inbound_sms"].signing_secret not in (None, secret)
    assert (await stored(db, service_id))["delivery_status"][0] == moved["url"]

    assert await push(db, service_id, document(3, inbound_sms_callback=setting)) == {
        "inbound_sms": again["inbound_sms"].model_copy(update={"signing_secret": None})
    }
    assert set(await stored(db, service_id)) == {"inbound_sms"}


async def test_urls_must_be_https_outside_development(db: Database) -> None:
    local = {"url": "http://127.0.0.1:9999/callbacks", "bearer_token": TOKEN}
    with pytest.raises(InvalidCallback):
        await push(db, uuid.uuid4(), document(1, delivery_status_callback=local), development=False)
    assert "delivery_status" in await push(db, uuid.uuid4(), document(1, delivery_status_callback=local))
    for url in ("http://service.example/callbacks", "ftp://service.example", "https://"):
        with pytest.raises(InvalidCallback):
            await push(db, uuid.uuid4(), document(1, delivery_status_callback={"url": url, "bearer_token": TOKEN}))


def test_the_bearer_token_has_at_least_10_characters() -> None:
    with pytest.raises(ValidationError):
        document(1, delivery_status_callback={"url": "https://service.example", "bearer_token": "short"})
