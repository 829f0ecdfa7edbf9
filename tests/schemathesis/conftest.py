"""The whole platform behind one real gateway, for schemathesis: notify, pay and identity on the test PostgreSQL and
Redis, and a live (unrestricted) service pushed to notify and pay the way production pushes it, with a live Notify
key that may manage templates, a live Pay key on the sandbox provider, and real templates.

Identity sends its email codes through notify with its own key and template (the notify tests' rig, as the console
rig does); schemathesis never reaches a code, so that rig's gateway only serves identity's start-up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.principal import PrincipalSigner
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.app import create_app as create_gateway
from gateway.demo_templates import NotifyKeyAuth
from gateway.keys.service import KeyMaterial, create_key
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants
from services.identity.app import create_app as create_identity
from services.identity.settings import IdentitySettings
from services.notify.tenancy.schemas import Permission
from services.pay.app import create_app as create_pay
from tests.gateway.conftest import MASTER, make_settings
from tests.notify.conftest import TEMPLATES, NotifyRig
from tests.pay.conftest import _pay_settings
from tests.support import redis_database, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]

#: The service's settings: every Notify permission and generous daily limits (so valid sends keep reaching the
#: send path rather than the limit), and Pay's live account on the sandbox provider with MOTO allowed.
SERVICE_SETTINGS: dict[str, dict[str, Any]] = {
    "notify": {
        "permissions": list(Permission.__args__),  # type: ignore[attr-defined]
        "email_message_limit": 1_000_000,
        "sms_message_limit": 1_000_000,
        "letter_message_limit": 1_000_000,
        "international_sms_message_limit": 1_000_000,
    },
    "pay": {"allow_moto": True, "allow_moto_api": True, "live": {"provider": "sandbox"}},
}


@dataclass
class PlatformRig:
    url: str
    service_id: uuid.UUID
    notify_key: str
    pay_key: str
    #: Template ids by channel, made through the gateway with the Notify key.
    templates: dict[str, str]
    #: Each component's own OpenAPI document (`/openapi.json`, served on its internal address only).
    documents: dict[str, dict[str, Any]]


async def _seed(gateway_db: str, settings: Any, targets: dict[str, str]) -> tuple[uuid.UUID, str, str]:
    material = KeyMaterial.from_settings(settings)
    db = Database(gateway_db, pool_size=1)
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name="Schemathesis", actor="t")
            svc = await tenants.create_service(
                session, organisation_id=org.id, name="Fuzzed service", restricted=False, actor="t"
            )
            await tenants.update_service(
                session, svc.id, actor="t", rate_limit=1_000_000, pay_rate_tier="elevated", settings=SERVICE_SETTINGS
            )
            _row, notify_key = await create_key(
                session,
                material,
                service_id=svc.id,
                api="notify",
                name="fuzz",
                key_type="normal",
                scopes=["manage_templates"],
                actor="t",
            )
            _row, pay_key = await create_key(
                session, material, service_id=svc.id, api="pay", name="fuzz", key_type="live", actor="t"
            )
        pusher = Pusher(db, targets, PrincipalSigner(parse_keyring(MASTER)))
        try:
            outcome = await pusher.deliver_pending(svc.id)
        finally:
            await pusher.close()
        assert outcome.get("delivered"), outcome
    finally:
        await db.dispose()
    return svc.id, notify_key, pay_key


def _identity_settings(db_url: str, redis_url: str, notify: NotifyRig, template_id: str) -> IdentitySettings:
    kid, master = parse_keyring(MASTER)[0]
    return IdentitySettings(
        database_url=db_url,
        redis_url=redis_url,
        principal_keys=SecretStr(format_keyring([(kid, derive_audience_key(master, "identity"))])),
        notify_base_url=notify.url,
        notify_api_key=SecretStr(notify.keys["live"]),
        notify_template_email_code=template_id,
    )


def _document(base_url: str) -> dict[str, Any]:
    answer = httpx.get(f"{base_url}/openapi.json", timeout=30)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


@pytest.fixture(scope="session")
def platform_rig(  # type: ignore[no-untyped-def]
    make_postgres_database,
    redis_url: str,
    upstreams: dict[str, str],
    notify_rig: NotifyRig,
    code_template: str,
) -> Iterator[PlatformRig]:
    rig_redis = redis_database(redis_url, 6)
    gateway_db = make_postgres_database("gw_fuzz")
    pay_db = make_postgres_database("pay_fuzz")
    identity_db = make_postgres_database("id_fuzz")
    asyncio.run(upgrade(ROOT / "gateway" / "migrations", gateway_db))
    asyncio.run(upgrade(ROOT / "services" / "pay" / "migrations", pay_db))
    asyncio.run(upgrade(ROOT / "services" / "identity" / "migrations", identity_db))
    pay = _pay_settings(pay_db, rig_redis)
    identity = _identity_settings(identity_db, rig_redis, notify_rig, code_template)
    with serve_in_thread(create_pay(pay)) as pay_url, serve_in_thread(create_identity(identity)) as identity_url:
        targets = {"notify": notify_rig.notify_url, "pay": pay_url, "identity": identity_url}
        settings = make_settings(
            gateway_db,
            rig_redis,
            {**upstreams, **targets},
            anonymous_rate_per_minute=600_000,
            anonymous_burst=100_000,
        )
        with serve_in_thread(create_gateway(settings)) as url:
            # One origin, as in `gaap up`: every absolute link the services build is the gateway's.
            identity.issuer = url
            pay.api_base_url = pay.frontend_base_url = url
            service_id, notify_key, pay_key = asyncio.run(_seed(gateway_db, settings, targets))
            templates: dict[str, str] = {}
            with httpx.Client(base_url=url, auth=NotifyKeyAuth(notify_key), timeout=30) as api:
                for channel, body in TEMPLATES.items():
                    created = api.post("/v2/manage-template", json=body)
                    assert created.status_code == 201, created.text
                    templates[channel] = created.json()["id"]
            documents = {name: _document(internal) for name, internal in targets.items()}
            yield PlatformRig(url, service_id, notify_key, pay_key, templates, documents)
