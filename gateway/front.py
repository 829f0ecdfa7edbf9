"""The gateway's front door: a pure ASGI app that authenticates, rate-limits and forwards routed paths, and hands
everything else (console, assets, health, metrics, the admin API) to the gateway's own FastAPI app.

The forwarding path is plain ASGI on purpose: no per-request framework work (routing tables, dependency
resolution, pydantic) on the hottest path of the platform.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gaap.context import accept_request_id, request_id_var
from gaap.db.outage import database_unavailable, storage_full
from gaap.errors import Fault
from gaap.metrics import HTTP_LATENCY, HTTP_REQUESTS
from gaap.principal import Principal, PrincipalSigner
from gateway.answers import Answers
from gateway.auth.credentials import CredentialStore, ServiceEntry
from gateway.auth.notify import NotifyAuthError, authenticate_notify
from gateway.auth.pay import PayAuthFailed, authenticate_pay
from gateway.limits import RatePolicies, Unavailable
from gateway.proxy import BodyTooLarge, ClientGone, Forwarder, UpstreamAborted, UpstreamFailure
from gateway.routing import BLOCKED, Auth, Route, Router
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.front")
#: The Notify caller's per-minute bucket, passed to notify for `GET /v2/limits` (the gateway holds the bucket).
LIMITS_HEADER = "X-Gaap-Rate-Limit"


@dataclass
class FrontState:
    """What the front door needs at run time; filled in by the gateway app's lifespan."""

    store: CredentialStore | None = None
    policies: RatePolicies | None = None
    forwarder: Forwarder | None = None
    signer: PrincipalSigner | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _send(response: Response, scope: Scope, receive: Receive, send: Send, request_id: str) -> int:
    response.headers["x-request-id"] = request_id
    await response(scope, receive, send)
    return response.status_code


class GatewayFront:
    def __init__(self, own_app: ASGIApp, settings: GatewaySettings, answers: Answers) -> None:
        self.own_app = own_app
        self.settings = settings
        self.router = Router(settings.hosts)
        self.answers = answers
        self.state = FrontState()
        self._counters: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        #: Where each component listens, for the console's status page.
        self.upstreams = settings.upstreams
        self.trusted_proxies = {p.strip() for p in settings.trusted_proxies.split(",") if p.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.own_app(scope, receive, send)
            return
        route = self.router.match(scope["path"], _header(scope, b"host"))
        if route is None:
            await self.own_app(scope, receive, send)
            return
        request_id = accept_request_id(_header(scope, b"x-request-id"))
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 500
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if route is BLOCKED:
                status = await _send(
                    self.answers.fault("platform", Fault.not_found, request_id, scope),
                    scope,
                    receive,
                    tracking_send,
                    request_id,
                )
            else:
                status = await self._handle(route, scope, receive, tracking_send, request_id)
        except Exception as exc:
            # Its database unreachable or its disk full (credentials, tenants, audit): a 503 the client may retry,
            # not a bug's 500.
            unavailable = database_unavailable(exc) or storage_full(exc)
            if unavailable:
                log.warning("gateway database unavailable", path=scope["path"], error=type(exc).__name__)
            else:
                log.exception("gateway failed to handle a request", path=scope["path"])
            if started:
                raise
            fault = Fault.unavailable if unavailable else Fault.internal
            status = await _send(
                self.answers.fault(route.family, fault, request_id, scope), scope, receive, send, request_id
            )
        finally:
            request_id_var.reset(token)
            self._count(route.component, scope["method"], status, time.perf_counter() - start)

    def _count(self, component: str, method: str, status: int, seconds: float) -> None:
        """Metrics for a forwarded request; label children are cached, `labels()` is too slow for this path."""
        key = (component, method, status)
        counter = self._counters.get(key)
        if counter is None:
            label = f"proxy:{component or 'blocked'}"
            counter = self._counters[key] = (
                HTTP_REQUESTS.labels("gateway", method, label, str(status)),
                HTTP_LATENCY.labels("gateway", label),
            )
        counter[0].inc()
        counter[1].observe(seconds)

    def client_ip(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if peer in self.trusted_proxies:
            forwarded = _header(scope, b"x-forwarded-for")
            if forwarded:
                hops = [h.strip() for h in forwarded.split(",") if h.strip()]
                for hop in reversed(hops):
                    if hop not in self.trusted_proxies:
                        return hop
        return peer

    async def _authenticate(self, route: Route, scope: Scope, request_id: str) -> tuple[Principal, ServiceEntry | None]:
        store = self.state.store
        assert store is not None
        authorization = _header(scope, b"authorization")
        if route.auth == Auth.notify_key:
            return await authenticate_notify(authorization, store, request_id)
        if route.auth == Auth.pay_key:
            return await authenticate_pay(authorization, store, request_id)
        return Principal(request_id=request_id), None

    async def _handle(self, route: Route, scope: Scope, receive: Receive, send: Send, request_id: str) -> int:
        family = route.family
        try:
            principal, service = await self._authenticate(route, scope, request_id)
        except NotifyAuthError as exc:
            return await _send(self.answers.error("notify", exc, request_id), scope, receive, send, request_id)
        except PayAuthFailed:
            return await _send(self.answers.pay_unauthorised(), scope, receive, send, request_id)

        policies = self.state.policies
        assert policies is not None
        client_ip = self.client_ip(scope)
        try:
            outcome = await policies.check(route, scope["method"], scope["path"], principal, service, client_ip)
        except Unavailable:
            return await _send(
                self.answers.fault(family, Fault.unavailable, request_id, scope),
                scope,
                receive,
                send,
                request_id,
            )
        decision = outcome.decision
        if decision is not None and not decision.allowed:
            response = self.answers.rate_limited(
                family, decision, request_id, scope, notify_key_type=outcome.notify_key_type
            )
            return await _send(response, scope, receive, send, request_id)

        signer = self.state.signer
        forwarder = self.state.forwarder
        assert signer is not None
        assert forwarder is not None
        scheme = scope.get("scheme", "http")
        host = _header(scope, b"host") or ""
        forwarded_for = _header(scope, b"x-forwarded-for")
        extra = [
            ("X-Gaap-Principal", signer.sign(route.component, principal)),
            ("X-Request-ID", request_id),
            ("X-Forwarded-For", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip),
            ("X-Forwarded-Proto", scheme),
            ("X-Forwarded-Host", host),
        ]
        if route.auth == Auth.notify_key and service is not None and scope["path"].rstrip("/") == "/v2/limits":
            bucket = await policies.notify_bucket(principal, service)
            if bucket is not None:
                extra.append((LIMITS_HEADER, orjson.dumps(bucket).decode()))
        headers = forwarder.upstream_headers(scope, extra, strip_authorization=route.auth != Auth.anonymous)
        response_headers = [(b"x-request-id", request_id.encode())]
        if outcome.advertise and decision is not None:
            response_headers.extend((k.lower().encode(), v.encode()) for k, v in decision.headers().items())
        max_body = self.settings.max_bulk_body_bytes if route.bulk else self.settings.max_body_bytes
        try:
            return await forwarder.forward(
                scope,
                receive,
                send,
                component=route.component,
                headers=headers,
                max_body=max_body,
                response_headers=response_headers,
                read_timeout=self.settings.bulk_upstream_timeout if route.bulk else None,
            )
        except BodyTooLarge:
            return await _send(
                self.answers.fault(family, Fault.body_too_large, request_id, scope),
                scope,
                receive,
                send,
                request_id,
            )
        except UpstreamFailure as exc:
            log.warning("upstream failed", component=route.component, fault=exc.fault.value, path=scope["path"])
            return await _send(
                self.answers.fault(family, exc.fault, request_id, scope), scope, receive, send, request_id
            )
        except ClientGone:
            return 499
        except UpstreamAborted:
            log.warning("upstream aborted mid-response", component=route.component, path=scope["path"])
            return 502
