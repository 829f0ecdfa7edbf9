"""A real gateway in front of real upstreams, on loopback, against the test PostgreSQL and Redis.

Each upstream is a small echo app that verifies the principal token the way a service does (with the key derived
for its audience) and answers with what it received, so tests can see exactly what crossed the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.principal import PRINCIPAL_HEADER, PrincipalVerifier
from gaap.settings import derive_audience_key, parse_keyring
from gateway.app import create_app
from gateway.keys.service import KeyMaterial, create_key
from gateway.settings import GatewaySettings
from gateway.tenants import service as tenants
from tests.support import free_port, serve_in_thread

MASTER = "t1:" + base64.urlsafe_b64encode(hashlib.sha256(b"test-principal-master").digest()).decode()
MIGRATIONS = Path(__file__).resolve().parents[2] / "gateway" / "migrations"


def echo_app(audience: str) -> Starlette:
    kid, master = parse_keyring(MASTER)[0]
    verifier = PrincipalVerifier(audience, [(kid, derive_audience_key(master, audience))])

    async def echo(request: Request) -> Response:
        if request.url.path == "/readyz":  # the console asks services directly, as the gateway process
            return JSONResponse({"status": "ready", "checks": {"database": "ok", "redis": "ok"}})
        token = request.headers.get(PRINCIPAL_HEADER)
        if not token:
            return JSONResponse({"upstream_error": "no principal"}, status_code=401)
        try:
            principal = verifier.verify(token)
        except Exception as exc:
            return JSONResponse({"upstream_error": str(exc)}, status_code=401)
        if request.url.path.endswith("/slow"):
            await asyncio.sleep(float(request.query_params.get("s", "3")))
        if request.url.path.endswith("/big-response"):
            size = int(request.query_params.get("n", "1000000"))

            async def chunks():  # type: ignore[no-untyped-def]
                for _ in range(size // 10000):
                    yield b"x" * 10000

            return StreamingResponse(chunks(), media_type="application/octet-stream")
        try:
            body = await request.body()
        except ClientDisconnect:  # the gateway gave up on this request (a test of its timeouts): nobody to answer
            return Response(status_code=499)
        return JSONResponse(
            {
                "audience": audience,
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": dict(request.headers.items()),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body_len": len(body),
                "principal": {
                    "request_id": principal.request_id,
                    "service_id": principal.service_id,
                    "key_id": principal.key_id,
                    "key_type": principal.key_type,
                    "scopes": sorted(principal.scopes),
                    "organisation_id": principal.organisation_id,
                },
            },
            headers={"Connection": "keep-alive", "X-Upstream": audience},
        )

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


@dataclass
class Tenant:
    organisation_id: uuid.UUID
    service_id: uuid.UUID
    keys: dict[str, str]
    key_ids: dict[str, uuid.UUID]


@dataclass
class GatewayRig:
    url: str
    settings: GatewaySettings
    db_url: str
    tenant: Tenant
    admin_token: str

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run(coro)


async def _seed(db_url: str, settings: GatewaySettings) -> tuple[Tenant, str]:
    from gateway.keys.service import create_admin_token

    await upgrade(MIGRATIONS, db_url)
    material = KeyMaterial.from_settings(settings)
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name=f"Org {uuid.uuid4().hex[:6]}", actor="test")
            svc = await tenants.create_service(
                session, organisation_id=org.id, name="Test service", restricted=False, actor="test"
            )
            keys: dict[str, str] = {}
            ids: dict[str, uuid.UUID] = {}
            for label, api, key_type in [
                ("notify_live", "notify", "normal"),
                ("notify_team", "notify", "team"),
                ("notify_test", "notify", "test"),
                ("notify_revoked", "notify", "test"),
                ("pay_test", "pay", "test"),
                ("pay_live", "pay", "live"),
                ("pay_revoked", "pay", "test"),
            ]:
                row, full = await create_key(
                    session, material, service_id=svc.id, api=api, name=label, key_type=key_type, actor="test"
                )
                keys[label] = full
                ids[label] = row.id
            from gateway.keys.service import revoke_key

            await revoke_key(session, svc.id, ids["notify_revoked"], actor="test")
            await revoke_key(session, svc.id, ids["pay_revoked"], actor="test")
            _token, admin = await create_admin_token(session, material, name="tests", actor="test")
    finally:
        await db.dispose()
    return Tenant(org.id, svc.id, keys, ids), admin


def make_settings(db_url: str, redis_url: str, upstreams: dict[str, str], **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "database_url": db_url,
        "redis_url": redis_url,
        "principal_keys": SecretStr(MASTER),
        "notify_url": upstreams["notify"],
        "pay_url": upstreams["pay"],
        "identity_url": upstreams["identity"],
        # Generous: a loaded CI machine must not turn a slow answer into a 504. The gateway's own rig (echo
        # upstreams) lowers it to test timeouts.
        "upstream_timeout": 30.0,
        "max_body_bytes": 8 * 1024 * 1024,
        "credential_cache_ttl": 5.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


# The session fixture `upstreams`, registered once for the suite by tests/rigs.py.
def upstreams() -> Iterator[dict[str, str]]:
    with (
        serve_in_thread(echo_app("notify")) as n,
        serve_in_thread(echo_app("pay")) as p,
        serve_in_thread(echo_app("identity")) as i,
    ):
        yield {"notify": n, "pay": p, "identity": i}


@pytest.fixture(scope="session")
def gateway_db(make_postgres_database) -> str:  # type: ignore[no-untyped-def]
    return make_postgres_database("gateway")


@pytest.fixture(scope="session")
def rig(gateway_db: str, redis_url: str, upstreams: dict[str, str]) -> Iterator[GatewayRig]:
    settings = make_settings(gateway_db, redis_url, upstreams, upstream_timeout=1.0)  # `/slow` answers after 3 s
    tenant, admin = asyncio.run(_seed(gateway_db, settings))
    with serve_in_thread(create_app(settings)) as url:
        yield GatewayRig(url=url, settings=settings, db_url=gateway_db, tenant=tenant, admin_token=admin)


@pytest.fixture
def fresh_gateway(gateway_db: str, redis_url: str, upstreams: dict[str, str]):  # type: ignore[no-untyped-def]
    """Start a gateway with overridden settings (closed upstream, tiny limits, Redis down, ...)."""

    def start(**overrides: object):  # type: ignore[no-untyped-def]
        settings = make_settings(
            gateway_db,
            overrides.pop("redis_url", redis_url),  # type: ignore[arg-type]
            {**upstreams, **overrides.pop("upstreams", {})},
            **overrides,
        )  # type: ignore[dict-item]
        return serve_in_thread(create_app(settings))

    return start


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


os.environ.setdefault("GAAP_LOG_JSON", "true")
