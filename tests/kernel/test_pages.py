"""The kernel page layer without a browser: CSRF, language choice, catalogues, error pages, headers and assets.

The app under test is built here from `Pages` with the kernel's request-id middleware and the platform error
family installed, as `build_app` would, so the tests also prove that page errors win over the family's JSON.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Form, Request
from redis.asyncio import Redis
from starlette.responses import Response

from gaap.app import RequestContextMiddleware, install_error_handlers
from gaap.errors import FAMILIES, TooManyRequests
from gaap.pages import (
    CsrfProtected,
    CsrfProtection,
    PageRoute,
    Pages,
    assets_app,
    build_assets,
    language_from_ui_locales,
    missing_translations,
    render_error_page,
    verify_assets,
)
from gaap.pages.assets import DEFAULT_SOURCE, DEFAULT_TARGET, AssetsError, ensure_assets, main
from gaap.pages.i18n import KERNEL_LOCALE_DIR
from gaap.pages.templating import KERNEL_TEMPLATES
from gaap.redis import create_redis

SECRET = "unit-test-secret-0123456789abcdef"
FORM = """\
{% extends "gaap/layout.html" %}
{% block title %}{{ _("Continue") }}{% endblock %}
{% block content %}
<form method="post">{{ csrf_input() }}<p class="govuk-body">{{ _("Component text") }}</p>
<button class="govuk-button">{{ _("Continue") }}</button></form>
{% endblock %}
"""
COMPONENT_CY = """\
msgid ""
msgstr ""
"Language: cy\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Component text"
msgstr "Testun y gydran"

msgid "Continue"
msgstr "Ymlaen"
"""


@pytest.fixture(scope="module")
def component_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("component")
    (root / "templates" / "c").mkdir(parents=True)
    (root / "templates" / "c" / "form.html").write_text(FORM, encoding="utf-8")
    (root / "locale" / "cy" / "LC_MESSAGES").mkdir(parents=True)
    (root / "locale" / "cy" / "LC_MESSAGES" / "messages.po").write_text(COMPONENT_CY, encoding="utf-8")
    return root / "templates", root / "locale"


def away_redis() -> Redis:
    """A Redis client for a port nobody listens on: Redis away, as in an outage."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return create_redis(f"redis://127.0.0.1:{port}/0")


def make_app(pages: Pages) -> FastAPI:
    router = APIRouter(route_class=PageRoute)

    @router.get("/form")
    async def show(request: Request) -> Response:
        return pages.render(request, "c/form.html")

    @router.post("/form")
    async def submit(request: Request, _: CsrfProtected, name: Annotated[str, Form()] = "") -> Response:
        return Response(f"ok {name}", media_type="text/plain")

    @router.get("/welsh-from-ui-locales")
    async def ui_locales(request: Request, ui_locales: str = "") -> Response:
        return pages.render(request, "c/form.html", lang=language_from_ui_locales(ui_locales))

    @router.get("/busy")
    async def busy(request: Request) -> Response:
        return render_error_page(request, 429, retry_after=30)

    @router.get("/limited")
    async def limited(request: Request) -> Response:
        raise TooManyRequests()

    @router.get("/boom")
    async def boom(request: Request) -> Response:
        raise RuntimeError("a bug")

    @router.get("/needs-redis")
    async def page_needs_redis(request: Request) -> Response:
        async with away_redis() as redis:
            await redis.get("anything")
        return Response("unreachable")

    app = FastAPI()

    @app.get("/api/needs-redis")
    async def api_needs_redis() -> Response:
        async with away_redis() as redis:
            await redis.get("anything")
        return Response("unreachable")

    install_error_handlers(app, FAMILIES["platform"])
    pages.install(app, page_prefixes=("/form", "/missing"))
    app.include_router(router)
    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.fixture(scope="module")
def pages(component_dirs: tuple[Path, Path]) -> Pages:
    templates, locale = component_dirs
    return Pages([templates], locale_dirs=[locale], csrf_secret=SECRET, secure=False, service_name="Continue")


@pytest.fixture
async def client(pages: Pages) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(pages))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


# CSRF


async def test_form_post_with_matching_token_is_accepted(client: httpx.AsyncClient) -> None:
    page = await client.get("/form")
    assert "gaap-csrf" in client.cookies
    response = await client.post("/form", data={"csrf_token": token_in(page.text), "name": "Ada"})
    assert response.status_code == 200
    assert response.text == "ok Ada"


async def test_token_in_header_is_accepted(client: httpx.AsyncClient) -> None:
    page = await client.get("/form")
    response = await client.post("/form", data={"name": "Ada"}, headers={"X-CSRF-Token": token_in(page.text)})
    assert response.status_code == 200


@pytest.mark.parametrize("lang", ["en", "cy"])
async def test_missing_token_gets_the_html_403_page(client: httpx.AsyncClient, lang: str) -> None:
    await client.get(f"/form?lang={lang}")
    response = await client.post("/form", data={"name": "Ada"}, headers={"X-Request-ID": "req-csrf-0001"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    heading = {"en": "Sorry, we could not accept your form", "cy": "nid oeddem yn gallu derbyn eich ffurflen"}
    assert heading[lang] in response.text
    assert "req-csrf-0001" in response.text


async def test_tampered_token_is_rejected(client: httpx.AsyncClient) -> None:
    token = token_in((await client.get("/form")).text)
    tampered = ("A" if token[0] != "A" else "B") + token[1:]
    response = await client.post("/form", data={"csrf_token": tampered})
    assert response.status_code == 403


async def test_token_for_another_cookie_is_rejected(client: httpx.AsyncClient, pages: Pages) -> None:
    token = token_in((await client.get("/form")).text)
    client.cookies.set("gaap-csrf", CsrfProtection.new_cookie_value())
    response = await client.post("/form", data={"csrf_token": token})
    assert response.status_code == 403


async def test_token_without_its_cookie_is_rejected(client: httpx.AsyncClient) -> None:
    token = token_in((await client.get("/form")).text)
    client.cookies.clear()
    response = await client.post("/form", data={"csrf_token": token})
    assert response.status_code == 403


def test_token_depends_on_the_secret_and_survives_odd_input() -> None:
    a, b = CsrfProtection(SECRET), CsrfProtection(SECRET + "-other")
    value = CsrfProtection.new_cookie_value()
    assert a.token_for(value) != b.token_for(value)
    assert a.is_valid(value, a.token_for(value))
    assert not a.is_valid(value, "ŵ" * 43)
    assert not a.is_valid(None, a.token_for(value))
    with pytest.raises(ValueError):
        CsrfProtection("short")


async def test_secure_cookies_use_the_host_prefix(component_dirs: tuple[Path, Path]) -> None:
    pages = Pages([component_dirs[0]], csrf_secret=SECRET, secure=True)
    transport = httpx.ASGITransport(app=make_app(pages))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        page = await c.get("/form?lang=cy")
        cookies = page.headers.get_list("set-cookie")
        csrf = next(v for v in cookies if v.startswith("__Host-gaap-csrf="))
        assert {"Secure", "HttpOnly", "Path=/", "SameSite=lax"} <= set(csrf.split("; "))
        assert any(v.startswith("lang=cy") and "Secure" in v for v in cookies)
        response = await c.post("/form", data={"csrf_token": token_in(page.text), "name": "Ada"})
        assert response.status_code == 200


# Language


async def test_english_is_the_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/form")
    assert '<html lang="en"' in response.text
    assert response.headers["content-language"] == "en"
    assert "Skip to main content" in response.text
    assert "lang" not in client.cookies


async def test_lang_query_chooses_welsh_and_is_remembered(client: httpx.AsyncClient) -> None:
    response = await client.get("/form?lang=cy&x=1")
    assert '<html lang="cy"' in response.text
    assert client.cookies["lang"] == "cy"
    # The toggle keeps the other query parameters.
    assert 'href="/form?x=1&amp;lang=en"' in response.text
    again = await client.get("/form")
    assert '<html lang="cy"' in again.text


async def test_unsupported_language_falls_back_to_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/form?lang=fr")
    assert '<html lang="en"' in response.text


async def test_explicit_override_beats_the_cookie(client: httpx.AsyncClient) -> None:
    client.cookies.set("lang", "en")
    response = await client.get("/welsh-from-ui-locales?ui_locales=fr%20cy-GB%20en")
    assert '<html lang="cy"' in response.text


def test_ui_locales() -> None:
    assert language_from_ui_locales("fr cy-GB en") == "cy"
    assert language_from_ui_locales("en-GB cy") == "en"
    assert language_from_ui_locales("fr de") is None
    assert language_from_ui_locales(None) is None


# Catalogues


async def test_welsh_catalogue_translates_the_kernel_and_component_texts(client: httpx.AsyncClient) -> None:
    html = (await client.get("/form?lang=cy")).text
    assert "Neidio i'r prif gynnwys" in html
    assert "© Hawlfraint y Goron" in html
    assert "Drwydded Llywodraeth Agored v3.0" in html
    assert "Testun y gydran" in html
    # The component's catalogue is merged over the kernel's: its "Continue" wins over the kernel's "Parhau".
    assert "Ymlaen" in html and "Parhau" not in html
    # The service name is a message id, translated per page.
    assert "<title>Ymlaen – Ymlaen – GOV.UK</title>" in html


def test_kernel_welsh_catalogue_is_complete() -> None:
    assert missing_translations([KERNEL_TEMPLATES], [], "cy") == []


def test_component_gaps_are_reported(component_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    templates, locale = component_dirs
    assert missing_translations([templates], [locale], "cy") == []
    (tmp_path / "x.html").write_text('{{ _("Untranslated text") }}', encoding="utf-8")
    assert missing_translations([tmp_path], [locale], "cy") == ["Untranslated text"]


def test_python_side_translation(pages: Pages) -> None:
    assert pages.gettext("cy", "Page not found") == "Heb ddod o hyd i'r dudalen"
    assert pages.gettext("en", "Page not found") == "Page not found"
    assert pages.gettext("cy", "If you need help, quote this reference: %(reference)s", reference="R1").endswith("R1")


# Error pages


async def test_error_page_shows_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing", headers={"X-Request-ID": "req-404-abcdef"})
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "req-404-abcdef" in response.text
    welsh = await client.get("/missing?lang=cy")
    assert "Heb ddod o hyd i'r dudalen" in welsh.text
    assert welsh.headers["x-request-id"] in welsh.text


async def test_non_page_paths_keep_their_family_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/v9/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


async def test_render_error_page_429_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/busy?lang=cy")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert "bu gormod o ymdrechion" in response.text


async def test_page_routes_render_api_errors_and_bugs_as_html(client: httpx.AsyncClient) -> None:
    limited = await client.get("/limited")
    assert limited.status_code == 429
    assert "Sorry, there have been too many attempts" in limited.text
    boom = await client.get("/boom", headers={"X-Request-ID": "req-500-abcdef"})
    assert boom.status_code == 500
    assert "Sorry, there is a problem with the service" in boom.text
    assert "Try again later." in boom.text
    assert "req-500-abcdef" in boom.text


async def test_redis_away_is_a_503_on_pages_and_apis(client: httpx.AsyncClient) -> None:
    page = await client.get("/needs-redis")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "30"
    api = await client.get("/api/needs-redis")
    assert api.status_code == 503
    assert api.json()["message"] == "The service is temporarily unavailable"


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "Sorry, there is a problem with your request"),
        (403, "You cannot view this page"),
        (503, "Sorry, the service is unavailable"),
        (502, "Sorry, there is a problem with the service"),
    ],
)
async def test_error_texts_per_status(pages: Pages, status: int, text: str) -> None:
    app = FastAPI()
    pages.install(app)

    @app.get("/e")
    async def error(request: Request) -> Response:
        return render_error_page(request, status)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        response = await c.get("/e")
    assert response.status_code == status
    assert text in response.text


# Security headers


async def test_pages_carry_security_headers_matching_their_inline_script(client: httpx.AsyncClient) -> None:
    response = await client.get("/form")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "style-src 'self';" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert '<script type="module" src="/assets/gaap-init.js?v=' in response.text or (
        '<script type="module" src="/assets/gaap-init.js"' in response.text
    )


def test_asset_origin_is_allowed_when_assets_live_elsewhere() -> None:
    pages = Pages(csrf_secret=SECRET, asset_path="https://www.example.gov.uk/assets", form_action=("'self'",))
    csp = pages.security_headers["Content-Security-Policy"]
    assert "style-src 'self' https://www.example.gov.uk;" in csp
    assert csp.endswith("form-action 'self'")


# Assets


@pytest.fixture(scope="module")
def built_assets() -> Path:
    """The served tree, built from frontend/node_modules when this checkout has not built it yet."""
    ensure_assets()
    return DEFAULT_TARGET


async def test_assets_app_serves_css_with_cache_headers(built_assets: Path) -> None:
    app = FastAPI()
    app.mount("/assets", assets_app(built_assets))
    pages = Pages(csrf_secret=SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        css = await c.get("/assets/govuk-frontend.min.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.headers["cache-control"] == "public, max-age=86400"
        assert css.headers["x-content-type-options"] == "nosniff"
        assert "govuk-template" in css.text

        versioned = await c.get(pages.asset_url("govuk-frontend.min.css"))
        assert "?v=" in pages.asset_url("govuk-frontend.min.css")
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"

        stale = await c.get("/assets/govuk-frontend.min.css?v=000000000000")
        assert stale.headers["cache-control"] == "public, max-age=86400"

        font = await c.get("/assets/fonts/bold-b542beb274-v2.woff2")
        assert font.headers["content-type"] == "font/woff2"
        assert "immutable" in font.headers["cache-control"]

        js = await c.get("/assets/gaap-init.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert "initAll()" in js.text

        again = await c.get("/assets/govuk-frontend.min.css", headers={"If-None-Match": css.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["cache-control"] == "public, max-age=86400"

        assert (await c.get("/assets/../../settings.py")).status_code == 404


def test_build_and_verify_catch_a_damaged_tree(tmp_path: Path) -> None:
    if not (DEFAULT_SOURCE / "package.json").is_file():
        pytest.fail("frontend/node_modules is missing: run `npm ci` in frontend/")
    target = tmp_path / "govuk"
    manifest = build_assets(DEFAULT_SOURCE, target)
    assert manifest.version == "6.3.0"
    assert {"govuk-frontend.min.css", "govuk-frontend.min.js", "gaap-init.js", "manifest.json"} <= set(manifest.files)
    assert verify_assets(target) == manifest

    (target / "fonts" / "bold-b542beb274-v2.woff2").write_bytes(b"not a font")
    with pytest.raises(AssetsError, match="does not match"):
        verify_assets(target)
    (target / "fonts" / "bold-b542beb274-v2.woff2").unlink()
    with pytest.raises(AssetsError):
        verify_assets(target)
    with pytest.raises(AssetsError, match="missing"):
        assets_app(tmp_path / "nowhere")


def test_kernel_catalogue_files_are_plain_po() -> None:
    """No compiled .mo file is kept next to the catalogues: they are compiled in memory at start-up."""
    assert sorted(p.name for p in KERNEL_LOCALE_DIR.rglob("*.*")) == ["messages.po", "messages.po"]


def test_assets_command_checks_the_tree(built_assets: Path, tmp_path: Path) -> None:
    assert main(["--check", "--target", str(built_assets)]) == 0
    assert main(["--check", "--target", str(tmp_path)]) == 1
