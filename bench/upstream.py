"""The bench upstream: the two apps every gateway number is measured against.

- `bare_app`, a raw ASGI callable answering a small JSON document: no framework, no database. It is the ceiling
  of what uvicorn itself can serve on this machine, so the other scenarios can be read as fractions of it.
- `create_insert_app()`, a FastAPI app built exactly as a platform component is (`gaap.app.build_app`: request-id
  and metrics middleware, error family, lifespan that opens the database), with one endpoint that INSERTs one row
  through a session per request (`gaap.db.deps.DbSession`) and answers JSON. It plays the notify component:
  the gateway routes `/v2/*` to notify with Notify key authentication, so `POST /v2/bench/insert` is reached
  directly (scenario b) and through the gateway (scenario c) at the same path. Notify's rate limits apply only to
  the send paths (`/v2/notifications/{sms,email,letter}`), so this path measures authentication, principal
  signing and forwarding, not the Redis limiter; the same endpoint is also served at `SEND_PATH`, a send path,
  to measure the limiter's cost on its own.

When a request carries `X-Gaap-Principal` it is verified with the key derived for the notify audience, as a real
service does; directly there is none, which is the one difference between (b) and (c) on the upstream side.

Run as a production process would be (`gaap serve` settings: uvloop, httptools, no access log):
`python -m bench.upstream insert --port 8101 --workers 2`.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime
from typing import Annotated, ClassVar

import orjson
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gaap.app import Component, build_app, configure_process_logging
from gaap.db.base import Base as KernelBase
from gaap.db.base import new_metadata, utcnow
from gaap.db.deps import DbSession
from gaap.db.types import GUID, UTCDateTime
from gaap.principal import PRINCIPAL_HEADER, Principal, PrincipalVerifier
from gaap.settings import ComponentSettings

#: The path of the insert endpoint, the same directly and through the gateway.
INSERT_PATH = "/v2/bench/insert"
#: The same endpoint at a Notify send path, which the gateway rate-limits (one Redis call per request).
SEND_PATH = "/v2/notifications/sms"
#: The audience the gateway signs principal tokens for on `/v2/*`.
AUDIENCE = "notify"

_BARE_BODY = orjson.dumps({"status": "ok", "component": "bench-bare"})
_BARE_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BARE_BODY)).encode())]


async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Scenario (a): the same bytes for every request, with the lifespan protocol answered so uvicorn is quiet."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _BARE_HEADERS})
    await send({"type": "http.response.body", "body": _BARE_BODY})


class BenchBase(KernelBase):
    """The bench's own metadata, so its one table never mixes with a component's Alembic history."""

    __abstract__ = True
    metadata = new_metadata()


class BenchRow(BenchBase):
    """One accepted request: about the size of a small notification row's key columns."""

    __tablename__ = "bench_rows"

    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), nullable=False)
    service_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), nullable=True)
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class BenchUpstreamSettings(ComponentSettings):
    """`BENCH_UPSTREAM_DATABASE_URL` and `BENCH_UPSTREAM_PRINCIPAL_KEYS` (the notify audience's derived keys)."""

    model_config = SettingsConfigDict(env_prefix="BENCH_UPSTREAM_", extra="ignore")

    component: ClassVar[str] = "bench"


class InsertRequest(BaseModel):
    reference: str = Field(min_length=1, max_length=100)


async def _optional_principal(request: Request) -> Principal | None:
    """The kernel's principal check, except that a missing token is allowed (the direct scenario has none).

    Async on purpose: verification is ~20 µs of CPU, and a plain `def` dependency would cost a thread-pool hop.
    """
    token = request.headers.get(PRINCIPAL_HEADER)
    if token is None:
        return None
    verifier: PrincipalVerifier = request.app.state.principal_verifier
    return verifier.verify(token)


MaybePrincipal = Annotated[Principal | None, Depends(_optional_principal)]

router = APIRouter()


async def insert_row(payload: InsertRequest, session: DbSession, principal: MaybePrincipal) -> Response:
    """Insert one row in the request's transaction; the session dependency commits before the answer goes out."""
    row = BenchRow(
        id=uuid.uuid4(),
        reference=payload.reference,
        service_id=uuid.UUID(principal.service_id) if principal and principal.service_id else None,
        request_id=principal.request_id if principal else "direct",
    )
    session.add(row)
    await session.flush()
    body = {
        "id": str(row.id),
        "reference": row.reference,
        "service_id": principal.service_id if principal else None,
        "key_type": principal.key_type if principal else None,
    }
    return Response(orjson.dumps(body), status_code=201, media_type="application/json")


router.add_api_route(INSERT_PATH, insert_row, methods=["POST"], status_code=201, response_class=Response)
router.add_api_route(SEND_PATH, insert_row, methods=["POST"], status_code=201, response_class=Response)


def create_insert_app(settings: BenchUpstreamSettings | None = None) -> FastAPI:
    """Scenario (b)/(c)'s upstream, built like `services.notify.app.create_app` with one extra router."""
    settings = settings or BenchUpstreamSettings()
    configure_process_logging(settings, AUDIENCE)
    return build_app(
        Component(name=AUDIENCE, settings=settings, family="notify", routers=[router], title="GaaP bench upstream")
    )


def main() -> None:
    """Serve one of the two apps with the settings `gaap serve` uses for a service."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=("bare", "insert"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    target = "bench.upstream:bare_app" if args.app == "bare" else "bench.upstream:create_insert_app"
    uvicorn.run(
        target,
        factory=args.app == "insert",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=75,  # as gaap serve: longer than the gateway pool's idle time
        backlog=4096,
    )


if __name__ == "__main__":
    main()
