"""Fixtures of the payment-page tests. They talk to pay directly: the gateway's per-address limits on page paths
would throttle a suite this size, and the browser tests go through the gateway."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.pay.conftest import PayRig
from tests.pay.pages.payer import BrowserFactory, PayerBrowser


@pytest.fixture
def browser_factory(pay_rig: PayRig) -> Iterator[BrowserFactory]:
    clients: list[httpx.Client] = []

    def make() -> PayerBrowser:
        client = httpx.Client(base_url=pay_rig.pay_url, follow_redirects=False, timeout=30)
        clients.append(client)
        return PayerBrowser(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def payer(browser_factory: BrowserFactory) -> PayerBrowser:
    return browser_factory()
