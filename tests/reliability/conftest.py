"""The reliability suite's rig: the platform as separate processes (`tests/reliability/rig.py`), a receiver for
Pay's webhooks, and the profile that sizes each scenario.

Two profiles: `make test` runs every scenario once at small size, each within about 60 s on the 2-core machine;
`make soak` sets `GAAP_RELIABILITY_PROFILE=soak` for longer runs, more kills and the 30 s outages issue 9 names.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.reliability.rig import Platform
from tests.support import serve_in_thread

PROFILE_ENV = "GAAP_RELIABILITY_PROFILE"
KEEP_ENV = "GAAP_RELIABILITY_KEEP"


@dataclass(frozen=True)
class Profile:
    name: str
    #: Texts in the worker-crash run, and how many times the worker is SIGKILLed during it. Issue 4's 5,000 is the
    #: soak run: on the shared 2-core machine notify sends and delivers a few dozen texts a second.
    messages: int
    kills: int
    #: Texts sent across the Redis restart, and how long Redis stays down.
    redis_messages: int
    redis_down_seconds: float
    #: How long PostgreSQL or Redis is unavailable in the outage scenarios (issue 9: 30 s).
    outage_seconds: float
    #: Delayed-capture payments made at least, and how many times the pay API and the pay worker are each SIGKILLed
    #: meanwhile (the load goes on until the last kill).
    payments: int
    pay_kills: int
    #: How long the embedded data dir stays full, sends being refused, before space is freed.
    disk_full_seconds: float
    #: pytest-timeout's limit for each scenario, in seconds.
    timeout: float


PROFILES = {
    "test": Profile("test", messages=800, kills=3, redis_messages=400, redis_down_seconds=4, outage_seconds=5,
                    payments=100, pay_kills=2, disk_full_seconds=5, timeout=300),
    "soak": Profile("soak", messages=5000, kills=8, redis_messages=5000, redis_down_seconds=30, outage_seconds=30,
                    payments=1500, pay_kills=8, disk_full_seconds=30, timeout=1800),
}  # fmt: skip


def _profile_name() -> str:
    name = os.environ.get(PROFILE_ENV, "test")
    if name not in PROFILES:
        raise pytest.UsageError(f"{PROFILE_ENV} must be one of {', '.join(PROFILES)}, not {name!r}")
    return name


@pytest.fixture(scope="session")
def profile() -> Profile:
    return PROFILES[_profile_name()]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A scenario's limit includes starting the platform when it is the first to need it (about 15 s, more on a busy
    machine); the soak profile's runs are minutes long."""
    limit = PROFILES[_profile_name()].timeout
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.timeout(limit))


@dataclass
class WebhookReceiver:
    """A department's endpoint for Pay's webhooks: every delivery it was sent, by message id, answering 200."""

    url: str = ""
    deliveries: dict[str, list[dict[str, object]]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def receive(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            self.deliveries[str(body["webhook_message_id"])].append(body)
        return Response(status_code=200)

    def captured(self) -> dict[str, set[str]]:
        """Payment id -> the distinct `card_payment_captured` messages received for it."""
        found: dict[str, set[str]] = defaultdict(set)
        with self.lock:
            for message_id, copies in self.deliveries.items():
                if copies[0]["event_type"] == "card_payment_captured":
                    found[str(copies[0]["resource_id"])].add(message_id)
        return found


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/pay-events", receiver.receive, methods=["POST"])])
    with serve_in_thread(app) as url:
        receiver.url = f"{url}/pay-events"
        yield receiver


@pytest.fixture(scope="session")
def platform(postgres_dsn: str, webhooks: WebhookReceiver) -> Iterator[Platform]:
    """The platform every scenario on this pytest-xdist worker shares (at most one per worker, where it was one per
    module): each scenario ends with the platform recovered, which is what it tests, and looks only at its own
    messages and payments. Its processes' logs are in its workdir, kept (and named on stderr)
    when `GAAP_RELIABILITY_KEEP=1`."""
    keep = os.environ.get(KEEP_ENV) == "1"
    workdir = Path(tempfile.mkdtemp(prefix="gaap-reliability-"))
    running = Platform(workdir, postgres_dsn, webhook_url=webhooks.url).start()
    try:
        yield running
    finally:
        running.close()
        asyncio.run(running.drop_databases())
        if keep:
            print(f"reliability: logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
