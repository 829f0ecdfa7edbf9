"""The SDK against the real platform: notify and pay behind the real gateway (the rigs of tests/notify and
tests/pay), and a fault-injecting proxy in front of the gateway for the retry tests."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tests.support import serve_in_thread

#: pay_rig runs on both databases for pay's own tests; the SDK needs one of them.
ON_POSTGRES = pytest.mark.parametrize("pay_rig", ["postgresql"], indirect=True)


@dataclass
class FaultProxy:
    """Forwards to `target`, except that the next requests can be told to fail: `"503"` or `"429"` answers so without
    forwarding (the platform never saw it), `"lose"` forwards and then cuts the connection before the answer
    (the platform acted, the client cannot know). Records what it received."""

    target: str
    faults: collections.deque[str] = field(default_factory=collections.deque)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    last_headers: dict[str, str] = field(default_factory=dict)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() not in (b"host", b"content-length")
        ]
        self.last_headers = {k.lower(): v for k, v in headers}
        key = self.last_headers.get("idempotency-key")
        self.seen.append((scope["method"], scope["path"], key))
        fault = self.faults.popleft() if self.faults else None
        if fault in ("503", "429"):  # refused before the platform saw it
            refusal = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
            await send({"type": "http.response.start", "status": int(fault), "headers": refusal})
            await send({"type": "http.response.body", "body": b'{"error":"Injected","message":"injected"}'})
            return
        query = scope["query_string"].decode()
        url = self.target + scope["path"] + (f"?{query}" if query else "")
        async with httpx.AsyncClient() as client:
            answer = await client.request(scope["method"], url, content=body, headers=headers)
        if fault == "lose":
            # Headers promising a body that never comes, then the connection goes: a response lost on the way.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            raise ConnectionAbortedError("injected: the answer is lost")
        out = [
            (k.encode(), v.encode())
            for k, v in answer.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection")
        ]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


@pytest.fixture
def fault_proxy(notify_rig) -> Iterator[tuple[FaultProxy, str]]:  # type: ignore[no-untyped-def]
    proxy = FaultProxy(notify_rig.url)
    with serve_in_thread(proxy) as url:
        yield proxy, url
