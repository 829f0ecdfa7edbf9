"""The gateway's pages in Chromium: the console's status page, and the gateway's own HTML error pages on page
paths it cannot forward. Each page is checked with axe for WCAG 2.2 AA.

Console pages need a session; these tests give the browser one signed with the gateway's secret (signing in
through identity is `tests/gateway/console/` and `tests/browser/test_console_browser.py`)."""

from __future__ import annotations

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser
from starlette.responses import Response

from gateway.console.session import ConsoleCookies
from gateway.settings import GatewaySettings
from tests.browser.conftest import WCAG_22_AA, browser, chromium_executable, playwright  # noqa: F401
from tests.gateway.conftest import GatewayRig, closed_port_url

pytestmark = pytest.mark.browser


def session_cookie(settings: GatewaySettings, url: str, email: str = "admin@example.gov.uk") -> dict[str, str]:
    """A console session cookie for `email`, for a Playwright context."""
    cookies = ConsoleCookies(settings.csrf_secret.get_secret_value(), secure=False, session_seconds=600)
    response = Response()
    cookies.start_session(response, email=email, sub="urn:fdc:test", id_token="not-used")
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    return {"name": cookies.session_name, "value": value, "url": url}


async def assert_accessible(page) -> None:  # type: ignore[no-untyped-def]
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    assert results.violations_count == 0, results.generate_report()


async def test_status_page(browser: Browser, rig: GatewayRig) -> None:  # noqa: F811
    context = await browser.new_context()
    page = await context.new_page()
    response = await page.goto(f"{rig.url}/console/status")
    assert response is not None and "/console/sign-in" in page.url  # no session: sent to sign in
    await context.add_cookies([session_cookie(rig.settings, rig.url)])  # type: ignore[list-item]
    response = await page.goto(f"{rig.url}/console/status")
    assert response is not None and response.status == 200
    assert await page.title() == "Platform status – GaaP console – GOV.UK"
    assert await page.locator("h1").inner_text() == "Platform status"
    headings = await page.locator("h2").all_inner_texts()
    assert [h.split()[0] for h in headings] == ["Gateway", "Notify", "Pay", "Identity"]
    assert await page.get_by_text("Every component is ready.").count() == 1
    # GOV.UK Frontend's stylesheet is served by the gateway and applied.
    font = await page.locator("h1").evaluate("e => getComputedStyle(e).fontFamily")
    assert "GDS Transport" in font or "arial" in font.lower()
    css = await context.request.get(f"{rig.url}/assets/govuk-frontend.min.css")
    assert css.status == 200
    await assert_accessible(page)

    await page.goto(f"{rig.url}/console/status?lang=cy")
    assert await page.locator("h1").inner_text() == "Statws y platfform"
    assert await page.locator("html").get_attribute("lang") == "cy"
    await assert_accessible(page)
    await context.close()


async def test_status_page_shows_a_component_that_is_down(browser: Browser, fresh_gateway) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with fresh_gateway(upstreams={"pay": closed_port_url()}) as url:
        context = await browser.new_context()
        await context.add_cookies([session_cookie(GatewaySettings(), url)])  # type: ignore[list-item]
        page = await context.new_page()
        await page.goto(f"{url}/console/status")
        pay = page.locator("h2", has_text="Pay")
        assert "Not ready" in await pay.inner_text()
        assert await page.get_by_text("One or more components are not ready.", exact=False).count() == 1
        await assert_accessible(page)
        await context.close()


async def test_gateway_error_page_when_pay_pages_are_unreachable(browser: Browser, fresh_gateway) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with fresh_gateway(upstreams={"pay": closed_port_url()}) as url:
        page = await browser.new_page()
        response = await page.goto(f"{url}/secure/some-token")
        assert response is not None
        assert response.status == 503
        assert response.headers["retry-after"] == "30"
        request_id = response.headers["x-request-id"]
        assert request_id in await page.content()
        await assert_accessible(page)
        await page.close()


async def test_gateway_429_page_on_identity_pages(browser: Browser, fresh_gateway, redis) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with fresh_gateway(anonymous_rate_per_minute=60, anonymous_burst=1) as url:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/identity/sign-in")).status_code == 200
        page = await browser.new_page()
        response = await page.goto(f"{url}/identity/sign-in?lang=cy")
        assert response is not None
        assert response.status == 429
        assert int(response.headers["retry-after"]) >= 1
        assert await page.locator("html").get_attribute("lang") == "cy"
        await assert_accessible(page)
        await page.close()
