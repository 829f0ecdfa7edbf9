"""The fake SMS provider: auth, de-duplication, receipts, fault control, inbox, persistence, inbound, CLI."""

from __future__ import annotations

import base64
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gaap.embedded.fake_sms import FakeSmsProvider, create_fake_sms_app, outcome_for
from gaap.embedded.inbox import list_texts, sms_stats

REPO = Path(__file__).resolve().parents[2]
MMG = ("mmg", "mmg-dev-password")
FIRETEXT = ("firetext", "firetext-dev-password")
RECEIPTS = "http://notify.test/notifications/sms/{provider}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """Stands in for notify's webhook routes: records every POST and answers with the next queued status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = list(statuses or [])

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake-sms") as client,
    ):
        yield client


def fake(app: Starlette) -> FakeSmsProvider:
    provider: FakeSmsProvider = app.state.fake
    return provider


def sms(reference: str, to: str = "+447700900123", **extra: Any) -> dict[str, Any]:
    return {"reference": reference, "to": to, "content": "Your code is 123456", "sender": "GOVUK", **extra}


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def app(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Starlette]:
    http = receiver.client()
    yield create_fake_sms_app(
        tmp_path / "sms",
        receipt_url=RECEIPTS,
        receipt_delay_seconds=0.01,
        receipt_retry_seconds=0.01,
        http_client=http,
    )
    await http.aclose()


async def test_basic_auth_is_checked_per_provider(tmp_path: Path) -> None:
    app = create_fake_sms_app(tmp_path, credentials={"firetext": ("ft-user", "ft-secret")})
    async with serving(app) as client:
        missing = await client.post("/mmg/messages", json=sms("r1"))
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Basic")
        assert (await client.post("/mmg/messages", json=sms("r1"), auth=("mmg", "wrong"))).status_code == 401
        assert (await client.post("/mmg/messages", json=sms("r1"), auth=FIRETEXT)).status_code == 401
        assert (await client.post("/firetext/messages", json=sms("r1"), auth=FIRETEXT)).status_code == 401
        broken = {"Authorization": "Basic !!!not-base64"}
        assert (await client.post("/mmg/messages", json=sms("r1"), headers=broken)).status_code == 401
        ok = await client.post("/firetext/messages", json=sms("r1"), auth=("ft-user", "ft-secret"))
        assert ok.status_code == 200
        assert (await client.get("/stats")).json()["accepted"] == {"mmg": 0, "firetext": 1}


async def test_accepts_once_per_provider_and_counts_duplicates(app: Starlette) -> None:
    async with serving(app) as client:
        first = await client.post("/mmg/messages", json=sms("notification-1"), auth=MMG)
        assert first.status_code == 200
        assert first.json()["status"] == "accepted"
        again = await client.post("/mmg/messages", json=sms("notification-1"), auth=MMG)
        assert again.status_code == 409
        assert again.json()["id"] == first.json()["id"]
        other = await client.post("/firetext/messages", json=sms("notification-1"), auth=FIRETEXT)
        assert other.status_code == 200  # references are per provider: failover to the other is a new send
        stats = (await client.get("/stats")).json()
        assert stats["accepted"] == {"mmg": 1, "firetext": 1}
        assert stats["duplicates"] == {"mmg": 1, "firetext": 0}
        assert stats["errors"] == {"mmg": 0, "firetext": 0}


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("+447700900123", "delivered"),
        ("07700900003", "temporary-failure"),
        ("447700900002", "permanent-failure"),
    ],
)
def test_outcome_follows_the_simulator_numbers(number: str, status: str) -> None:
    assert outcome_for(number) == status


async def test_receipts_report_the_outcome_for_each_number(app: Starlette, receiver: Receiver) -> None:
    numbers = {"a": "+447700900123", "b": "07700900003", "c": "+447700900002"}
    async with serving(app) as client:
        ids = {}
        for ref, number in numbers.items():
            response = await client.post("/mmg/messages", json=sms(ref, number), auth=MMG)
            ids[ref] = response.json()["id"]
        await fake(app).wait_for_receipts()
        listed = {m["reference"]: m for m in (await client.get("/messages")).json()["messages"]}

    by_ref = {body["reference"]: body for body in receiver.bodies}
    assert {ref: body["status"] for ref, body in by_ref.items()} == {
        "a": "delivered",
        "b": "temporary-failure",
        "c": "permanent-failure",
    }
    assert by_ref["b"]["id"] == ids["b"]
    assert by_ref["b"]["to"] == "07700900003"
    assert by_ref["b"]["timestamp"].endswith("Z")
    request = receiver.requests[0]
    assert str(request.url) == "http://notify.test/notifications/sms/mmg"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"mmg:mmg-dev-password").decode()
    assert listed["c"]["status"] == "permanent-failure"
    assert {m["receipt_state"] for m in listed.values()} == {"sent"}


async def test_message_receipt_url_wins_and_pending_comes_first_when_asked(app: Starlette, receiver: Receiver) -> None:
    async with serving(app) as client:
        await client.put("/control/firetext", json={"pending_first": True, "receipt_delay_seconds": 0})
        body = sms("p1", receipt_url="http://notify.test/custom")
        assert (await client.post("/firetext/messages", json=body, auth=FIRETEXT)).status_code == 200
        await fake(app).wait_for_receipts()
    assert [b["status"] for b in receiver.bodies] == ["pending", "delivered"]
    assert {str(r.url) for r in receiver.requests} == {"http://notify.test/custom"}


async def test_receipts_are_retried_then_given_up(tmp_path: Path) -> None:
    flaky = Receiver([500, 503, 200])
    down = Receiver([500] * 10)
    for receiver, outcome in ((flaky, "sent"), (down, "failed")):
        http = receiver.client()
        app = create_fake_sms_app(
            tmp_path / outcome,
            receipt_url=RECEIPTS,
            receipt_delay_seconds=0,
            receipt_retry_seconds=0.01,
            receipt_attempts=4,
            http_client=http,
        )
        async with serving(app) as client:
            await client.post("/mmg/messages", json=sms("r"), auth=MMG)
            await fake(app).wait_for_receipts()
            [message] = (await client.get("/messages")).json()["messages"]
            stats = (await client.get("/stats")).json()
        await http.aclose()
        assert message["receipt_state"] == outcome
        if outcome == "sent":
            assert len(receiver.requests) == 3
            assert stats["receipts_sent"]["mmg"] == 1
        else:
            assert len(receiver.requests) == 4
            assert message["status"] == "accepted"
            assert stats["receipt_failures"]["mmg"] == 1


async def test_error_mode_fails_one_provider_until_reset(app: Starlette) -> None:
    async with serving(app) as client:
        control = await client.put("/control/mmg", json={"mode": "error", "error_status": 503})
        assert control.json()["mode"] == "error"
        assert (await client.get("/control/mmg")).json()["error_status"] == 503
        failed = await client.post("/mmg/messages", json=sms("f1"), auth=MMG)
        assert failed.status_code == 503
        assert (await client.post("/firetext/messages", json=sms("f1"), auth=FIRETEXT)).status_code == 200
        assert (await client.get("/stats")).json()["errors"] == {"mmg": 1, "firetext": 0}
        assert (await client.post("/control/reset")).json()["mmg"]["mode"] == "ok"
        assert (await client.post("/mmg/messages", json=sms("f1"), auth=MMG)).status_code == 200
        assert len((await client.get("/messages", params={"provider": "mmg"})).json()["messages"]) == 1


async def test_drop_receipts_accepts_but_never_reports(app: Starlette, receiver: Receiver) -> None:
    async with serving(app) as client:
        await client.put("/control/mmg", json={"mode": "drop_receipts"})
        assert (await client.post("/mmg/messages", json=sms("d1"), auth=MMG)).status_code == 200
        await fake(app).wait_for_receipts()
        [message] = (await client.get("/messages")).json()["messages"]
    assert receiver.requests == []
    assert message["receipt_state"] == "dropped"


async def test_slow_mode_delays_the_answer(app: Starlette) -> None:
    async with serving(app) as client:
        await client.put("/control/mmg", json={"mode": "slow", "delay_seconds": 0.3})
        started = time.monotonic()
        assert (await client.post("/mmg/messages", json=sms("s1"), auth=MMG)).status_code == 200
        assert time.monotonic() - started >= 0.3


async def test_bad_requests_are_refused(app: Starlette) -> None:
    async with serving(app) as client:
        assert (await client.put("/control/mmg", json={"mode": "sulk"})).status_code == 400
        assert (await client.put("/control/mmg", json={"mode": "ok", "colour": "red"})).status_code == 400
        assert (await client.put("/control/mmg", json={"error_status": 200})).status_code == 400
        assert (await client.put("/control/vodafone", json={"mode": "ok"})).status_code == 404
        assert (await client.post("/vodafone/messages", json=sms("x"), auth=MMG)).status_code == 404
        assert (await client.post("/mmg/messages", content=b"{", auth=MMG)).status_code == 400
        assert (await client.post("/mmg/messages", json={"reference": "x"}, auth=MMG)).status_code == 400
        assert (await client.get("/messages", params={"limit": "many"})).status_code == 400


async def test_inbox_lists_newest_first_with_filters(app: Starlette, tmp_path: Path) -> None:
    async with serving(app) as client:
        await client.post("/mmg/messages", json=sms("m1", "07700900111"), auth=MMG)
        await client.post("/firetext/messages", json=sms("m2", "+447700900222"), auth=FIRETEXT)
        await client.post("/mmg/messages", json=sms("m3", "+44 7700 900111"), auth=MMG)

        async def refs(**params: Any) -> list[str]:
            found = (await client.get("/messages", params=params)).json()["messages"]
            return [m["reference"] for m in found]

        assert await refs() == ["m3", "m2", "m1"]
        assert await refs(provider="mmg") == ["m3", "m1"]
        assert await refs(to="447700900111") == ["m3", "m1"]
        assert await refs(limit=1) == ["m3"]
        # Another process reads the same store directly.
        assert [t.reference for t in list_texts(tmp_path / "sms", to="07700 900222")] == ["m2"]
        assert sms_stats(tmp_path / "sms")["accepted"] == {"mmg": 2, "firetext": 1}


async def test_state_and_due_receipts_survive_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "sms"
    first = create_fake_sms_app(store, receipt_url=RECEIPTS, receipt_delay_seconds=0.3)
    async with serving(first) as client:
        await client.put("/control/firetext", json={"mode": "error"})
        assert (await client.post("/mmg/messages", json=sms("keep"), auth=MMG)).status_code == 200
    # Stopped before the receipt was due: the next process sends it.
    receiver = Receiver()
    http = receiver.client()
    second = create_fake_sms_app(store, receipt_url=RECEIPTS, http_client=http)
    async with serving(second) as client:
        assert (await client.post("/mmg/messages", json=sms("keep"), auth=MMG)).status_code == 409
        assert (await client.get("/control/firetext")).json()["mode"] == "error"
        await fake(second).wait_for_receipts()
        stats = (await client.get("/stats")).json()
    await http.aclose()
    assert [b["reference"] for b in receiver.bodies] == ["keep"]
    assert stats["duplicates"]["mmg"] == 1
    assert stats["receipts_sent"]["mmg"] == 1


async def test_inbound_texts_are_forwarded_to_the_webhook(tmp_path: Path) -> None:
    receiver = Receiver([200, 500, 500])
    http = receiver.client()
    app = create_fake_sms_app(
        tmp_path,
        inbound_url="http://notify.test/notifications/sms/receive/{provider}",
        http_client=http,
        receipt_attempts=2,
        receipt_retry_seconds=0.01,
    )
    text = {"to": "07700900500", "from": "+447700900123", "content": "STOP"}
    async with serving(app) as client:
        forwarded = await client.post("/firetext/inbound", json=text)
        assert forwarded.status_code == 200
        assert forwarded.json()["forwarded"] is True
        assert (await client.post("/firetext/inbound", json=text)).status_code == 502
        assert (await client.post("/firetext/inbound", json={"to": "x"})).status_code == 400
        assert (await client.get("/stats")).json()["inbound"] == {"mmg": 0, "firetext": 1}
    await http.aclose()
    request = receiver.requests[0]
    assert str(request.url) == "http://notify.test/notifications/sms/receive/firetext"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"firetext:firetext-dev-password").decode()
    body = receiver.bodies[0]
    assert (body["to"], body["from"], body["content"], body["provider"]) == (
        "07700900500",
        "+447700900123",
        "STOP",
        "firetext",
    )

    async with serving(create_fake_sms_app(tmp_path / "none")) as client:
        assert (await client.post("/mmg/inbound", json=text)).status_code == 409


@pytest.fixture
def receipt_server() -> Iterator[tuple[str, queue.Queue[tuple[str, dict[str, str], dict[str, Any]]]]]:
    """A tiny real HTTP server that takes receipt POSTs, for the test that runs the fake under uvicorn."""
    received: queue.Queue[tuple[str, dict[str, str], dict[str, Any]]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.put((self.path, dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_under_uvicorn_a_real_receipt_arrives(tmp_path: Path, receipt_server: tuple[str, queue.Queue]) -> None:
    base, received = receipt_server
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gaap.embedded.fake_sms",
            "--port",
            str(port),
            "--store",
            str(tmp_path),
            "--auth",
            "mmg=notify:s3cret",
            "--receipt-delay",
            "0.1",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/stats", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        body = sms("real-1", "07700900003", receipt_url=f"{base}/notifications/sms/mmg")
        accepted = httpx.post(f"{url}/mmg/messages", json=body, auth=("notify", "s3cret"), timeout=5)
        assert accepted.status_code == 200
        path, headers, receipt = received.get(timeout=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert path == "/notifications/sms/mmg"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"notify:s3cret").decode()
    assert receipt["reference"] == "real-1"
    assert receipt["id"] == accepted.json()["id"]
    assert receipt["status"] == "temporary-failure"
    assert [t.status for t in list_texts(tmp_path)] == ["temporary-failure"]
