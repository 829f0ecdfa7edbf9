"""A real pay behind a real gateway, once on SQLite and once on the test PostgreSQL, with tenants pushed the way
production pushes them (the gateway's outbox and pay's internal API) and real Pay keys made by the gateway.

Two ways in, and every response of both is checked against GOV.UK Pay's OpenAPI document (`openapi_contract`):
- `rig.gateway(key)`: through the gateway with a Pay key, exactly as a department calls;
- `rig.api(account)`: straight to pay with a principal token signed as the gateway signs it. Most tests use it,
  because the gateway rate-limits each account to 15 creates a second (pay spec §4.4), and tests go faster.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.jobs import JobQueue
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.app import create_app as create_gateway
from gateway.keys.service import KeyMaterial, create_key
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants
from services.pay.app import create_app as create_pay
from services.pay.settings import PaySettings
from services.pay.worker import worker_spec
from tests.gateway.conftest import MASTER, make_settings
from tests.pay.openapi_contract import CONTRACT
from tests.support import redis_database, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "pay" / "migrations"
RETURN_URL = "https://service.example.gov.uk/done"
#: The main service: MOTO allowed, and a live account on the sandbox (the rig's pay allows that).
MAIN_SETTINGS = {"allow_moto": True, "allow_moto_api": True, "live": {"provider": "sandbox"}}


@dataclass(frozen=True)
class Account:
    service_id: uuid.UUID
    mode: str


@dataclass
class Tenant:
    service_id: uuid.UUID
    keys: dict[str, str]

    def account(self, mode: str = "test") -> Account:
        return Account(self.service_id, mode)


class SignedPrincipal(httpx.Auth):
    """Signs each request's principal token as the gateway would for a Pay key of `account`."""

    def __init__(self, account: Account | None) -> None:
        self.account = account
        self.signer = PrincipalSigner(parse_keyring(MASTER))

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if self.account is None:
            principal = Principal(request_id=uuid.uuid4().hex)
        else:
            principal = Principal(
                request_id=uuid.uuid4().hex,
                service_id=str(self.account.service_id),
                key_id=str(uuid.uuid4()),
                key_type=self.account.mode,
            )
        request.headers["X-Gaap-Principal"] = self.signer.sign("pay", principal)
        yield request


def _checked(response: httpx.Response) -> None:
    CONTRACT.check(response)


async def _checked_async(response: httpx.Response) -> None:
    await response.aread()
    CONTRACT.check(response)


@dataclass
class PayRig:
    backend: str
    gateway_url: str
    pay_url: str
    pay_db: str
    gateway_db: str
    redis_url: str
    settings: PaySettings
    app: FastAPI
    main: Tenant
    upstreams: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def api(self, account: Account | None = None) -> httpx.Client:
        """Straight to pay as `account` (default: the main service's test account); None is anonymous."""
        client = httpx.Client(
            base_url=self.pay_url,
            auth=SignedPrincipal(account),
            event_hooks={"response": [_checked]},
            timeout=30,
        )
        self._clients.append(client)
        return client

    def async_api(self, account: Account | None = None) -> httpx.AsyncClient:
        """`api` for concurrency tests; the caller closes it."""
        return httpx.AsyncClient(
            base_url=self.pay_url,
            auth=SignedPrincipal(account),
            event_hooks={"response": [_checked_async]},
            timeout=60,
            limits=httpx.Limits(max_connections=250),
        )

    def anonymous(self) -> httpx.Client:
        return self.api(None)

    def gateway(self, key: str) -> httpx.Client:
        client = httpx.Client(
            base_url=self.gateway_url,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            event_hooks={"response": [_checked]},
            timeout=30,
        )
        self._clients.append(client)
        return client

    def tenant(self, pay_settings: dict[str, Any] | None = None) -> Tenant:
        """Another service in the gateway with `settings["pay"]` and test and live keys, pushed to pay."""
        return asyncio.run(_seed(self, pay_settings or {}))

    def close(self) -> None:
        for client in self._clients:
            client.close()


async def _push(rig_db: Database, service_id: uuid.UUID, targets: dict[str, str]) -> dict[str, int]:
    """Deliver the service's pending push to pay (the other components' documents are not pay's tests' concern)."""
    pusher = Pusher(rig_db, {"pay": targets["pay"]}, PrincipalSigner(parse_keyring(MASTER)))
    try:
        return await pusher.deliver_pending(service_id)
    finally:
        await pusher.close()


async def _seed(rig: PayRig, pay_settings: dict[str, Any]) -> Tenant:
    gateway_settings = make_settings(rig.gateway_db, rig.redis_url, rig.upstreams)
    material = KeyMaterial.from_settings(gateway_settings)
    db = Database(rig.gateway_db, pool_size=2)
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name=f"Pay tests {uuid.uuid4().hex[:8]}", actor="t")
            svc = await tenants.create_service(session, organisation_id=org.id, name="Pay", restricted=False, actor="t")
            if pay_settings:
                await tenants.update_service(session, svc.id, actor="t", settings={"pay": pay_settings})
            keys = {}
            for mode in ("test", "live"):
                _row, full = await create_key(
                    session, material, service_id=svc.id, api="pay", name=mode, key_type=mode, actor="t"
                )
                keys[mode] = full
        outcome = await _push(db, svc.id, rig.upstreams)
        assert outcome == {"delivered": 1}, outcome
    finally:
        await db.dispose()
    return Tenant(svc.id, keys)


def change_pay_settings(rig: PayRig, tenant: Tenant, pay_settings: dict[str, Any], **changes: Any) -> dict[str, int]:
    """Change the service's pay settings in the gateway and push them, as the console would."""

    async def work() -> dict[str, int]:
        db = Database(rig.gateway_db, pool_size=1)
        try:
            async with db.write_session() as session:
                await tenants.update_service(session, tenant.service_id, actor="t", settings={"pay": pay_settings})
            return await _push(db, tenant.service_id, rig.upstreams)
        finally:
            await db.dispose()

    return asyncio.run(work())


def _pay_settings(db_url: str, redis_url: str) -> PaySettings:
    kid, master = parse_keyring(MASTER)[0]
    return PaySettings(
        database_url=db_url,
        redis_url=redis_url,
        principal_keys=SecretStr(format_keyring([(kid, derive_audience_key(master, "pay"))])),
        allow_sandbox_live=True,
        webhook_allow_private_test=True,
        db_pool_size=25,
    )


def _redis_for(redis_url: str, backend: str) -> str:
    """Each backend's rig on its own Redis database, so one rig's worker never takes the other's jobs."""
    return redis_database(redis_url, 0 if backend == "sqlite" else 8)


# The session fixture `pay_rig`, registered once for the suite by tests/rigs.py.
def pay_rig(  # type: ignore[no-untyped-def]
    request,
    make_postgres_database,
    tmp_path_factory,
    redis_url: str,
    upstreams: dict[str, str],
) -> Iterator[PayRig]:
    backend = request.param
    if backend == "sqlite":
        pay_db = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('pay') / 'pay.db'}"
    else:
        pay_db = make_postgres_database("pay")
    gateway_db = make_postgres_database(f"gw_pay_{backend[:2]}")
    rig_redis = _redis_for(redis_url, backend)
    asyncio.run(upgrade(MIGRATIONS, pay_db))
    asyncio.run(upgrade(ROOT / "gateway" / "migrations", gateway_db))
    settings = _pay_settings(pay_db, rig_redis)
    app = create_pay(settings)
    with serve_in_thread(app) as pay_url:
        rig_upstreams = {**upstreams, "pay": pay_url}
        gateway_settings = make_settings(gateway_db, rig_redis, rig_upstreams)
        with serve_in_thread(create_gateway(gateway_settings)) as gateway_url:
            # Pay builds every absolute link from its public origins: here, the gateway's.
            settings.api_base_url = settings.frontend_base_url = gateway_url
            rig = PayRig(
                backend,
                gateway_url,
                pay_url,
                pay_db,
                gateway_db,
                rig_redis,
                settings,
                app,
                None,
                rig_upstreams,  # type: ignore[arg-type]
            )
            rig.main = asyncio.run(_seed(rig, MAIN_SETTINGS))
            try:
                yield rig
            finally:
                rig.close()


@pytest.fixture
def api(pay_rig: PayRig) -> httpx.Client:
    """The main service's test account, straight to pay."""
    return pay_rig.api(pay_rig.main.account("test"))


@pytest.fixture
async def pay_db(pay_rig: PayRig) -> AsyncIterator[Database]:
    database = Database(pay_rig.pay_db, pool_size=2)
    yield database
    await database.dispose()


@pytest.fixture
async def worker_ctx(pay_rig: PayRig) -> AsyncIterator[dict[str, Any]]:
    """What the worker hands its handlers, for calling them directly."""
    spec = worker_spec(pay_rig.settings)
    ctx: dict[str, Any] = {"jobs": JobQueue.from_url(pay_rig.redis_url, "pay")}
    assert spec.on_startup is not None and spec.on_shutdown is not None
    await spec.on_startup(ctx)
    try:
        yield ctx
    finally:
        await spec.on_shutdown(ctx)
        await ctx["jobs"].close()


def new_payment(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """Create a web payment (or whatever `overrides` make it) and return its body."""
    body: dict[str, Any] = {
        "amount": 1200,
        "reference": "CT-0001",
        "description": "Council tax",
        "return_url": RETURN_URL,
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def moto_payment(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """Create a `moto_api` payment (the main service allows it) and return its body."""
    return new_payment(client, authorisation_mode="moto_api", return_url=None, **overrides)


def authorise(
    rig: PayRig, payment: dict[str, Any], card_number: str = "4444333322221111", **overrides: Any
) -> httpx.Response:
    """`POST /v1/auth` for a `moto_api` payment, anonymously, as the gateway forwards it."""
    body = {
        "one_time_token": payment["_links"]["auth_url_post"]["params"]["one_time_token"],
        "card_number": card_number,
        "cvc": "123",
        "expiry_date": "12/39",
        "cardholder_name": "Ada Lovelace",
    }
    body.update(overrides)
    return rig.anonymous().post("/v1/auth", json=body)
