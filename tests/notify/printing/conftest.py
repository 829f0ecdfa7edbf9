"""The letters-to-print tests' fixtures: the fake print provider served over real HTTP, posting its reports to the
rig's gateway as a print contractor would, and the collation job run with the worker's own start-up and a test
clock (the delivery tests' SMTP sink, database and callback receiver come along for the worker)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gaap.embedded.fake_print import create_fake_print_app
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.delivery import letters as print_letters
from services.notify.delivery.providers import CLOCK
from tests.notify.callbacks.conftest import receiver, receiver_server  # noqa: F401  (fixtures)
from tests.notify.conftest import PRINT_CREDENTIALS, NotifyRig
from tests.notify.delivery.conftest import db  # noqa: F401  (fixtures)
from tests.notify.delivery.support import handler_ctx
from tests.support import serve_in_thread

ADDRESS = {"address_line_1": "A. Citizen", "address_line_2": "1 High Street", "address_line_3": "SW1A 1AA"}


@dataclass
class PrintFake:
    """The fake print provider (`gaap.embedded.fake_print`) and its control API."""

    url: str
    store: Path

    def control(self, **settings: object) -> None:
        answer = httpx.put(f"{self.url}/control", json=settings)
        assert answer.status_code == 200, answer.text

    def reset(self) -> None:
        assert httpx.post(f"{self.url}/control/reset").status_code == 200

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(f"{self.url}/stats").json()
        return stats

    def letter(self, reference: object) -> dict[str, Any] | None:
        """The fake's record of one letter (without its PDF), or None."""
        for item in httpx.get(f"{self.url}/letters", params={"limit": 1000}).json()["letters"]:
            if item["reference"] == str(reference):
                return dict(item)
        return None

    def pdf(self, reference: object) -> bytes:
        return httpx.get(f"{self.url}/letters/{reference}/pdf").content

    def return_letter(self, reference: object) -> httpx.Response:
        return httpx.post(f"{self.url}/letters/{reference}/return", timeout=30)


@pytest.fixture(scope="session")
def print_fake(notify_rig: NotifyRig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintFake]:
    store = tmp_path_factory.mktemp("print")
    app = create_fake_print_app(
        store,
        report_url=f"{notify_rig.url}/notifications/letter/print",
        report_delay_seconds=0.05,
        report_attempts=9,  # about 25 s of retries: a report may overtake the collation's commit
        report_retry_seconds=0.1,
    )
    with serve_in_thread(app, lifespan="on") as url:
        yield PrintFake(url, store)


@pytest.fixture
def printer(print_fake: PrintFake) -> Iterator[PrintFake]:
    """The fake print provider without faults, before and after the test."""
    print_fake.reset()
    yield print_fake
    print_fake.reset()


def print_settings(fake: PrintFake) -> dict[str, Any]:
    """The worker's print provider settings (overrides of the rig's notify settings)."""
    return {"print_provider_url": fake.url, "print_provider_credentials": SecretStr(PRINT_CREDENTIALS)}


@asynccontextmanager
async def collation(
    rig: NotifyRig, sink: SmtpSink, fake: PrintFake, now: Callable[[], datetime]
) -> AsyncIterator[dict[str, Any]]:
    """The worker's ctx (its own start-up: print API, batch size) on a test clock, for running the collation."""
    async with handler_ctx(rig, sink, **print_settings(fake)) as ctx:
        ctx[CLOCK] = now
        yield ctx


async def collate_at(rig: NotifyRig, sink: SmtpSink, fake: PrintFake, when: datetime) -> print_letters.Collation:
    """One run of the `letters-print` job at `when`."""
    async with collation(rig, sink, fake, lambda: when) as ctx:
        return await print_letters.collate(ctx)


def mine(run: print_letters.Collation, *idents: object) -> set[str]:
    """Which of `idents` this run handed over (other tests' letters in the shared database may go too)."""
    return {str(i) for i in run.handed_over} & {str(i) for i in idents}


def uid(value: object) -> uuid.UUID:
    return uuid.UUID(str(value))
