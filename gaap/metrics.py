"""Prometheus metrics: one registry per process, an HTTP middleware and the `/metrics` endpoint."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "gaap_http_requests_total", "HTTP requests answered", ["component", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "gaap_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["component", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEPENDENCY_UP = Gauge("gaap_dependency_up", "Whether a dependency answered its last check", ["component", "dependency"])


class MetricsMiddleware:
    """Counts and times requests, labelled by route template (never by raw path: that would explode labels)."""

    def __init__(self, app: ASGIApp, component: str) -> None:
        self.app = app
        self.component = component

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or scope.get("gaap.route") or "unmatched"
            HTTP_REQUESTS.labels(self.component, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(self.component, template).observe(time.perf_counter() - start)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
