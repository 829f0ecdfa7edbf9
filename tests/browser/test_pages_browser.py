"""The kernel page layer in a real browser: GOV.UK styles and scripts under the CSP, a form that posts without
JavaScript, CSRF rejection, Welsh, and axe's WCAG 2.2 AA rules.

The app is test-only: a form page and its thank-you page built with `Pages`, the shared `/assets` app, and the
kernel's request-id middleware, served by uvicorn on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated

import pytest
from axe_playwright_python.async_playwright import Axe
from fastapi import APIRouter, FastAPI, Form, Request
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page
from starlette.responses import Response

from gaap.app import RequestContextMiddleware
from gaap.pages import CsrfProtected, PageRoute, Pages, assets_app, ensure_assets
from tests.browser.conftest import WCAG_22_AA, run_asgi
from tests.identity.support import Person

pytestmark = pytest.mark.browser

FORM_PAGE = """\
{% extends "gaap/layout.html" %}
{% from "govuk_frontend_jinja/components/input/macro.html" import govukInput %}
{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}
{% from "govuk_frontend_jinja/components/error-summary/macro.html" import govukErrorSummary %}
{% block title %}{{ _("What is your name?") }}{% endblock %}
{% block content %}
  <div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
    {% if error %}
      {{ govukErrorSummary({"titleText": _("There is a problem"),
                            "errorList": [{"text": error, "href": "#name"}]}) }}
    {% endif %}
    <form method="post" novalidate>
      {{ csrf_input() }}
      {{ govukInput({
        "label": {"text": _("What is your name?"), "isPageHeading": true, "classes": "govuk-label--l"},
        "id": "name", "name": "name", "autocomplete": "name", "spellcheck": false,
        "errorMessage": {"text": error} if error else undefined
      }) }}
      {{ govukButton({"text": _("Continue")}) }}
    </form>
  </div></div>
{% endblock %}
"""

DONE_PAGE = """\
{% extends "gaap/layout.html" %}
{% from "govuk_frontend_jinja/components/panel/macro.html" import govukPanel %}
{% block title %}{{ _("Thank you") }}{% endblock %}
{% block content %}
  {{ govukPanel({"titleText": _("Thank you"), "text": name}) }}
{% endblock %}
"""

CY_PO = """\
msgid ""
msgstr ""
"Language: cy\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "What is your name?"
msgstr "Beth yw eich enw?"

msgid "Thank you"
msgstr "Diolch"

msgid "Enter your name"
msgstr "Rhowch eich enw"

msgid "Test service"
msgstr "Gwasanaeth prawf"
"""


def build_app(root: Path) -> FastAPI:
    templates = root / "templates" / "test"
    templates.mkdir(parents=True)
    (templates / "form.html").write_text(FORM_PAGE, encoding="utf-8")
    (templates / "done.html").write_text(DONE_PAGE, encoding="utf-8")
    catalogue = root / "locale" / "cy" / "LC_MESSAGES"
    catalogue.mkdir(parents=True)
    (catalogue / "messages.po").write_text(CY_PO, encoding="utf-8")

    pages = Pages(
        [root / "templates"],
        locale_dirs=[root / "locale"],
        csrf_secret="browser-test-secret-0123456789abcdef",
        secure=False,
        service_name="Test service",
        service_url="/form",
        form_action=("'self'",),
    )
    router = APIRouter(route_class=PageRoute)

    @router.get("/form")
    async def show_form(request: Request) -> Response:
        return pages.render(request, "test/form.html")

    @router.post("/form")
    async def submit_form(request: Request, _: CsrfProtected, name: Annotated[str, Form()] = "") -> Response:
        if not name.strip():
            lang = pages.language(request)
            error = pages.gettext(lang, "Enter your name")
            return pages.render(request, "test/form.html", {"error": error, "has_errors": True}, 400)
        return pages.render(request, "test/done.html", {"name": name.strip()})

    app = FastAPI()
    pages.install(app, page_prefixes=("/",))
    app.include_router(router)
    app.mount("/assets", assets_app())
    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_assets()
    with run_asgi(build_app(tmp_path_factory.mktemp("pages-app")), lifespan="off") as url:
        yield url


@pytest.fixture
async def context(browser: Browser, base_url: str) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(base_url=base_url)
    try:
        yield ctx
    finally:
        await ctx.close()


def console_errors(page: Page) -> list[str]:
    """Collects console errors (CSP violations are reported there) and uncaught exceptions for the page."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def assert_accessible(page: Page) -> None:
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    assert results.violations_count == 0, results.generate_report()


async def submit(page: Page, button: str) -> int:
    """Click a submit button and wait for the page it leads to; return that page's status."""
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name=button).click()
    response = await navigation.value
    assert response is not None
    return response.status


async def sign_in(page: Page, person: Person) -> None:
    """Answer identity's sign-in pages at `Cl.Cm` (email, password, authenticator code), as the page is showing them,
    and check the page it leads back to answered 200."""
    await page.get_by_label("Email address").fill(person.email)
    await submit(page, "Continue")
    await page.get_by_label("Password").fill(person.password)
    await submit(page, "Continue")
    await page.get_by_label("Security code").fill(person.next_code())
    assert await submit(page, "Continue") == 200


async def test_page_has_govuk_styles_and_scripts_under_the_csp(context: BrowserContext) -> None:
    page = await context.new_page()
    errors = console_errors(page)
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.url.split("?")[0].rsplit("/", 1)[-1], r.status))
    response = await page.goto("/form")
    assert response is not None and response.status == 200
    await page.wait_for_load_state("networkidle")

    assert statuses.get("govuk-frontend.min.css") == 200
    assert statuses.get("govuk-frontend.min.js") == 200
    assert statuses.get("gaap-init.js") == 200
    font = await page.evaluate("getComputedStyle(document.querySelector('.govuk-button')).fontFamily")
    assert "GDS Transport" in font
    assert any(name.endswith(".woff2") and status == 200 for name, status in statuses.items())
    # The GOV.UK template's inline script ran (its hash is in the CSP) and the module initialised the components.
    assert await page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    await page.wait_for_selector(".govuk-skip-link[data-govuk-skip-link-init]", state="attached")
    assert errors == []
    assert await page.locator("html").get_attribute("lang") == "en"
    await assert_accessible(page)


async def test_form_posts_without_javascript(browser: Browser, base_url: str) -> None:
    ctx = await browser.new_context(base_url=base_url, java_script_enabled=False)
    try:
        page = await ctx.new_page()
        await page.goto("/form")
        await page.get_by_label("What is your name?").fill("Ada Lovelace")
        assert await submit(page, "Continue") == 200
        assert await page.get_by_role("heading", name="Thank you").is_visible()
        assert await page.get_by_text("Ada Lovelace").is_visible()
        assert "govuk-frontend-supported" not in (await page.locator("body").get_attribute("class") or "")
    finally:
        await ctx.close()


async def test_form_errors_are_shown_and_accessible(context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto("/form")
    assert await submit(page, "Continue") == 400
    assert (await page.title()).startswith("Error: What is your name?")
    assert await page.get_by_role("alert").get_by_text("There is a problem").is_visible()
    await assert_accessible(page)


async def test_tampered_csrf_token_gets_the_403_page(context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto("/form")
    await page.get_by_label("What is your name?").fill("Mallory")
    await page.eval_on_selector(
        "input[name=csrf_token]", "e => { e.value = (e.value[0] === 'A' ? 'B' : 'A') + e.value.slice(1) }"
    )
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Continue").click()
    response = await navigation.value
    assert response is not None and response.status == 403
    assert await page.get_by_role("heading", name="Sorry, we could not accept your form").is_visible()
    assert await page.get_by_text(response.headers["x-request-id"]).is_visible()
    await assert_accessible(page)


async def test_welsh_pages(context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto("/form?lang=cy")
    assert await page.locator("html").get_attribute("lang") == "cy"
    assert await page.get_by_role("heading", name="Beth yw eich enw?").is_visible()
    assert await page.get_by_role("link", name="Neidio i'r prif gynnwys").count() == 1
    assert await page.get_by_text("© Hawlfraint y Goron").is_visible()
    await assert_accessible(page)

    # The choice is remembered by the `lang` cookie, and the form speaks Welsh through a post.
    await page.goto("/form")
    assert await page.locator("html").get_attribute("lang") == "cy"
    await page.get_by_label("Beth yw eich enw?").fill("Owain Glyndŵr")
    assert await submit(page, "Parhau") == 200
    assert await page.get_by_role("heading", name="Diolch").is_visible()
    assert await page.title() == "Diolch – Gwasanaeth prawf – GOV.UK"

    # The toggle goes back to English.
    await page.goto("/form")
    async with page.expect_navigation():
        await page.get_by_role("link", name="English").click()
    assert await page.locator("html").get_attribute("lang") == "en"
    assert await page.get_by_role("heading", name="What is your name?").is_visible()


async def test_error_pages_are_accessible_in_both_languages(context: BrowserContext) -> None:
    page = await context.new_page()
    for path, heading in [
        ("/nowhere", "Page not found"),
        ("/nowhere?lang=cy", "Heb ddod o hyd i'r dudalen"),
    ]:
        response = await page.goto(path)
        assert response is not None and response.status == 404
        assert await page.get_by_role("heading", name=heading).is_visible()
        await assert_accessible(page)
