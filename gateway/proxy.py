"""Forwarding a request to the component that owns it, over one pooled aiohttp session.

aiohttp rather than httpx: the default httpx transport kept 0.05-0.20x of direct throughput here; aiohttp 0.73x
(FIELD-NOTES). Bodies stream in both directions (small ones are passed whole, which is cheaper), hop-by-hop
headers are stripped, a client's own `X-Gaap-Principal` never passes, and a request that may have reached the
upstream is never retried unless its method is idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
from starlette.types import Receive, Scope, Send

from gaap.errors import Fault

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: Inbound headers the gateway replaces with its own.
REPLACED = frozenset(
    {
        b"x-gaap-rate-limit",
        b"host",
        b"x-gaap-principal",
        b"x-request-id",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"expect",
    }
)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
SMALL_BODY = 256 * 1024


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class UpstreamAborted(Exception):
    """The upstream failed after the response had started: the connection is cut short."""


class UpstreamFailure(Exception):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.value)
        self.fault = fault


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyStream:
    """Streams the client's body to the upstream, counting it. aiohttp wraps whatever the iterator raises in its
    own errors, so the reason it stopped is kept here for the caller to find."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.error: BodyTooLarge | ClientGone | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.error = ClientGone()
                raise self.error
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                self.error = BodyTooLarge()
                raise self.error
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


class Forwarder:
    def __init__(
        self, upstreams: dict[str, str], *, connect_timeout: float, read_timeout: float, pool_size: int
    ) -> None:
        self.upstreams = {name: url.rstrip("/") for name, url in upstreams.items()}
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_size = pool_size
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.pool_size, limit_per_host=self.pool_size, keepalive_timeout=30, ttl_dns_cache=300
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=self.read_timeout),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def upstream_headers(
        self, scope: Scope, extra: Iterable[tuple[str, str]], strip_authorization: bool
    ) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name in HOP_BY_HOP or name in REPLACED or (strip_authorization and name == b"authorization"):
                continue
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        headers.extend(extra)
        return headers

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        component: str,
        headers: list[tuple[str, str]],
        max_body: int,
        response_headers: list[tuple[bytes, bytes]],
        read_timeout: float | None = None,
    ) -> int:
        """Forward and relay the answer; returns the status sent. Raises before anything is sent to the client
        (`BodyTooLarge`, `UpstreamFailure`, `ClientGone`), so the caller can still answer in the right format."""
        assert self.session is not None, "Forwarder.start() was not awaited"
        method: str = scope["method"]
        url = self.upstreams[component] + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        length = content_length(scope)
        if length is not None and length > max_body:
            raise BodyTooLarge()
        data: bytes | AsyncIterator[bytes] | None
        stream: BodyStream | None = None
        if length is not None and length <= SMALL_BODY:
            data = await read_body(receive, max_body) if length else None
        elif length is None and method in IDEMPOTENT:
            data = None
        else:
            stream = BodyStream(receive, max_body)
            data = stream.__aiter__()
        attempts = 2 if method in IDEMPOTENT else 1
        # A route that answers slowly by design (bulk sends) reads with its own timeout; others keep the session's
        # (aiohttp reads an explicit `timeout=None` as "no timeout at all", so it is passed only when set).
        options: dict[str, Any] = {}
        if read_timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=read_timeout)
        for attempt in range(attempts):
            try:
                response = await self.session.request(
                    method, url, headers=headers, data=data, allow_redirects=False, compress=None, **options
                )
                break
            except (BodyTooLarge, ClientGone):
                raise
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if stream is not None and stream.error is not None:
                    raise stream.error from None
                if isinstance(exc, TimeoutError):
                    raise UpstreamFailure(Fault.timeout) from None
                if attempt + 1 < attempts:
                    continue
                raise UpstreamFailure(Fault.unavailable) from None
        async with response:
            out = [
                (k, v) for k, v in response.raw_headers if k.lower() not in HOP_BY_HOP and k.lower() != b"x-request-id"
            ]
            out.extend(response_headers)
            small = response.content_length is not None and response.content_length <= SMALL_BODY
            try:
                if small or method == "HEAD":
                    body = await response.read()
                    await send({"type": "http.response.start", "status": response.status, "headers": out})
                    await send({"type": "http.response.body", "body": body})
                    return response.status
                await send({"type": "http.response.start", "status": response.status, "headers": out})
                async for chunk in response.content.iter_chunked(64 * 1024):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            except (TimeoutError, aiohttp.ClientError) as exc:
                if small:
                    raise UpstreamFailure(
                        Fault.timeout if isinstance(exc, TimeoutError) else Fault.unavailable
                    ) from None
                # Headers already went out: all we can do is cut the response short.
                raise UpstreamAborted() from exc
            return response.status
