"""The Jinja2 environment for pages: GOV.UK Frontend macros, English and Welsh, CSRF, security headers.

A component builds one `Pages` at start-up and installs it on its app:

    pages = Pages([HERE / "templates"], locale_dirs=[HERE / "locale"], csrf_secret=..., secure=...,
                  service_name="Sign in to GOV.UK")
    pages.install(app)
    ...
    return pages.render(request, "identity/sign_in.html", {"form": form})

Templates are found in the component's directories first, then the kernel's (`gaap/layout.html`,
`gaap/error.html`), then the `govuk-frontend-jinja` macros under `govuk_frontend_jinja/` (for example
`{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}`).

There is one environment per language, each with its merged catalogue installed, so `_()`, `gettext` and
`ngettext` work everywhere, including inside imported macros, with no per-request translation state.
Autoescaping is on; translated strings are trusted (they come from our catalogues) and their `%(name)s` values
are escaped.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler as http_exception
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gaap.pages.assets import AssetManifest, read_manifest
from gaap.pages.csrf import CsrfProtection
from gaap.pages.errors import PageError, request_id_for
from gaap.pages.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_PARAM,
    SUPPORTED_LANGUAGES,
    Catalogues,
    choose_language,
    requested_language,
)
from gaap.pages.security import inline_script_hashes, origin_of, page_security_headers

KERNEL_TEMPLATES = Path(__file__).resolve().parent / "templates"
ONE_YEAR = 31_536_000


@pass_context
def csrf_input(context: Context) -> Markup:
    """The hidden form field carrying this page's CSRF token: `{{ csrf_input() }}` inside every `<form>`."""
    token = context.get("csrf_token")
    if not token:
        raise RuntimeError("csrf_input() needs the page context: import form macros `with context`")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CsrfProtection.field_name, token)


class Pages:
    """Renders a component's pages. Built once at start-up; safe to share between requests."""

    def __init__(
        self,
        template_dirs: Sequence[Path | str] = (),
        *,
        csrf_secret: str | bytes,
        secure: bool = True,
        locale_dirs: Sequence[Path | str] = (),
        asset_path: str = "/assets",
        service_name: str = "",
        service_url: str = "/",
        homepage_url: str = "https://www.gov.uk",
        form_action: Sequence[str] | None = None,
        template_globals: Mapping[str, Any] | None = None,
        asset_manifest: AssetManifest | None = None,
    ) -> None:
        """`secure` is False only in development over plain http (cookies lose `Secure` and `__Host-`).

        `asset_path` is where the gateway serves GOV.UK Frontend: a path on this origin or an absolute URL,
        whose origin is then allowed by the CSP. `form_action` restricts where forms may post (see
        `gaap.pages.security`).
        """
        self.csrf = CsrfProtection(csrf_secret, secure=secure)
        self.secure = secure
        self.asset_path = asset_path.rstrip("/")
        self.asset_manifest = asset_manifest if asset_manifest is not None else read_manifest()
        self.catalogues = Catalogues([Path(d) for d in locale_dirs])
        #: A message id: translated per page, so a component's catalogue can give its Welsh name.
        self.service_name = service_name
        self.defaults: dict[str, Any] = {
            "service_url": service_url,
            "homepage_url": homepage_url,
        }
        loader = ChoiceLoader(
            [
                FileSystemLoader([*map(str, template_dirs), str(KERNEL_TEMPLATES)]),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        )
        self.environments: dict[str, Environment] = {}
        for lang in SUPPORTED_LANGUAGES:
            env = Environment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])
            env.install_gettext_translations(self.catalogues.translations(lang), newstyle=True)  # type: ignore[attr-defined]
            env.globals.update(
                csrf_input=csrf_input,
                asset_url=self.asset_url,
                # Plain-text translation (escaped on output), for message ids held in variables.
                translate=self.catalogues.translations(lang).gettext,
                **(template_globals or {}),
            )
            self.environments[lang] = env
        # The GOV.UK template's own inline script, as it renders (the header and footer need their params).
        govuk_base = (
            self.environments["en"]
            .from_string(
                '{% extends "govuk_frontend_jinja/template.html" %}{% block skipLink %}{% endblock %}'
                "{% block header %}{% endblock %}{% block footer %}{% endblock %}"
            )
            .render()
        )
        self.security_headers = page_security_headers(
            inline_script_hashes(govuk_base), asset_origin=origin_of(self.asset_path), form_action=form_action
        )

    def install(self, app: FastAPI, *, page_prefixes: Sequence[str] = ()) -> None:
        """Make this the app's `Pages`: `CsrfProtected` and `render_error_page` find it, and a `PageError`
        raised anywhere in the app is answered with the HTML error page.

        Framework errors (unknown path, wrong method) under `page_prefixes` get the HTML error page too; other
        paths keep the handler the app already had (its API family's). Call this after `build_app`.
        """
        app.state.pages = self

        async def on_page_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, PageError)
            return self.render_error(request, exc.status_code, reason=exc.reason, headers=exc.headers or None)

        app.add_exception_handler(PageError, on_page_error)
        if not page_prefixes:
            return
        prefixes = tuple(page_prefixes)
        fallback = app.exception_handlers.get(StarletteHTTPException, http_exception)

        async def on_http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, StarletteHTTPException)
            if request.url.path.startswith(prefixes):
                return self.render_error(request, exc.status_code, headers=exc.headers or None)
            response = fallback(request, exc)
            return await response if inspect.isawaitable(response) else response

        app.add_exception_handler(StarletteHTTPException, on_http_error)

    def asset_url(self, path: str) -> str:
        """The URL of a GOV.UK Frontend file, versioned by its hash when this process knows it (so it may be
        cached as immutable)."""
        short = self.asset_manifest.short_hash(path) if self.asset_manifest else None
        url = f"{self.asset_path}/{path}"
        return f"{url}?v={short}" if short else url

    def language(self, request: Request, override: str | None = None) -> str:
        return choose_language(request, override)

    def gettext(self, lang: str, message: str, **variables: Any) -> str:
        """A kernel or component message in `lang`, for texts built in Python (validation messages,
        emails)."""
        text = self.catalogues.gettext(lang, message)
        return text % variables if variables else text

    def ngettext(self, lang: str, singular: str, plural: str, n: int, **variables: Any) -> str:
        text = self.catalogues.translations(lang).ngettext(singular, plural, n)
        return text % {"num": n, **variables}

    @staticmethod
    def _language_urls(request: Request) -> dict[str, str]:
        """Links for the language toggle: this page with `lang` replaced, other query parameters kept."""
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_PARAM]
        return {
            lang: f"{request.url.path}?{urlencode([*kept, (LANGUAGE_PARAM, lang)])}" for lang in SUPPORTED_LANGUAGES
        }

    def render(
        self,
        request: Request,
        template_name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        *,
        lang: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render a page in the request's language, with its CSRF token, cookies and security headers.

        `lang` overrides the visitor's choice (identity passes the language from `ui_locales`). A `?lang=`
        choice is remembered in the `lang` cookie; a visitor without a CSRF cookie is given one.
        """
        chosen = choose_language(request, lang)
        cookie_value = self.csrf.cookie_value(request)
        new_cookie = cookie_value is None
        if cookie_value is None:
            cookie_value = self.csrf.new_cookie_value()
        values: dict[str, Any] = {
            **self.defaults,
            "service_name": self.catalogues.gettext(chosen, self.service_name) if self.service_name else "",
            **(context or {}),
            "request": request,
            "lang": chosen,
            "htmlLang": chosen,
            "assetPath": self.asset_path,
            "csrf_token": self.csrf.token_for(cookie_value),
            "language_urls": self._language_urls(request),
            "request_id": request_id_for(request),
        }
        html = self.environments[chosen].get_template(template_name).render(values)
        response = HTMLResponse(html, status_code=status_code)
        response.headers.update(self.security_headers)
        response.headers["Content-Language"] = chosen
        if headers:
            response.headers.update(headers)
        if new_cookie:
            self.csrf.set_cookie(response, cookie_value)
        asked = requested_language(request)
        if asked and asked != request.cookies.get(LANGUAGE_COOKIE):
            response.set_cookie(
                LANGUAGE_COOKIE,
                asked,
                max_age=ONE_YEAR,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        return response

    def render_error(
        self,
        request: Request,
        status_code: int,
        *,
        reason: str | None = None,
        title: str | None = None,
        message: str | None = None,
        lang: str | None = None,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
        template_name: str = "gaap/error.html",
    ) -> HTMLResponse:
        """The error page for `status_code` (see `gaap.pages.errors.render_error_page`)."""
        extra = dict(headers or {})
        if retry_after is not None and status_code in (429, 503):
            extra["Retry-After"] = str(max(0, int(retry_after)))
        context = {"status_code": status_code, "reason": reason, "title_id": title, "message_id": message}
        return self.render(request, template_name, context, status_code, lang=lang, headers=extra)
