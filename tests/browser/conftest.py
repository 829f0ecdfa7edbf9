"""Browser fixtures: Debian's Chromium driven by Playwright's async API, and ASGI apps served on loopback.

Playwright cannot download browsers here and does not need to: `/usr/bin/chromium` (apt `chromium`) is launched
headless with the flags below (FIELD-NOTES, Browsers).

The async API runs on pytest-asyncio's session loop (`asyncio_mode=auto`, session loop scope in pyproject.toml), so
one browser serves the whole session. Playwright's sync API cannot share a session with async tests: while a sync
Playwright is open its own event loop counts as running in the main thread, and every async test that follows fails
with "Runner.run() cannot be called from a running event loop".

`serve_app(app)` runs an ASGI app under uvicorn in a background thread on a free loopback port and yields its base
URL, so a test drives a real HTTP server (cookies, redirects, static files) rather than an in-process transport.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright, async_playwright

from tests.support import serve_in_thread

CHROMIUM = os.environ.get("GAAP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: The axe-core rule tags for WCAG 2.2 level AA (which includes every A and AA rule of 2.0 and 2.1).
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set GAAP_TEST_CHROMIUM)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
async def browser(playwright: Playwright, chromium_executable: str) -> AsyncIterator[Browser]:
    """One headless Chromium for the session; tests open their own contexts (cookies and JS settings)."""
    chromium = await playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        await chromium.close()


#: Serve an ASGI app on loopback for the test: `with run_asgi(app) as base_url: ...`.
run_asgi = serve_in_thread


@pytest.fixture
def serve_app() -> Callable[..., AbstractContextManager[str]]:
    """`with serve_app(app) as base_url: ...`, for tests that build their app inline."""
    return run_asgi
