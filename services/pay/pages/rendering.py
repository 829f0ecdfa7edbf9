"""Pay's use of the kernel's page layer (`gaap.pages`, docs/pages.md), with what §13 adds to it:

- the CSRF secret lives in the `pay_session` cookie (§13.2), so a form's token is bound to the payer's session:
  `SessionCsrf` is the kernel's `CsrfProtection` reading its secret from there instead of from a cookie of its own;
- every page, error pages included, is in the payment's language and shows the tenant's service name once the
  payment is known (`PageFrame`, set on the request by the route before anything can fail);
- §13.7's headers on top of the kernel's: `Referrer-Policy: no-referrer` (a payment page's URL never leaves in a
  `Referer`), HSTS, and a CSP report endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from jinja2 import meta
from markupsafe import Markup
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gaap.pages import CsrfProtection, PageError, Pages
from services.pay.pages.countries import DEFAULT, choices, is_country
from services.pay.pages.session import SessionCodec

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
#: Rendered country selects kept per process: (language, selected code, error message) pairs. Codes and
#: messages come from small fixed sets, so this bounds only what a stream of odd errors could add.
COUNTRY_SELECTS_KEPT = 256
#: Framework errors under these paths get the HTML error page; the API keeps Pay's JSON errors.
PAGE_PREFIXES = ("/secure", "/card_details/", "/check_card/", "/return/", "/link/")
CSP_REPORT_PATH = "/secure/csp-report"
#: The `reason` of the error raised when a page needs a payment the browser's session does not hold.
SESSION_EXPIRED = "pay_session"
_FRAME_KEY = "pay_page_frame"


class SessionExpired(PageError):
    """The browser's `pay_session` does not hold this payment (no cookie, another browser, or more than 10
    payments since): the payer is told the session has expired, and nothing about the payment is shown."""

    status_code = 403
    code = "SessionExpired"
    message = "The payment is not in this browser's payment session"
    reason = SESSION_EXPIRED


@dataclass(frozen=True)
class PageFrame:
    """What every page of one payment shares, errors included."""

    lang: str
    service_name: str = ""
    test_account: bool = False


def set_frame(connection: HTTPConnection, frame: PageFrame) -> None:
    connection.scope.setdefault("state", {})[_FRAME_KEY] = frame


def frame_of(connection: HTTPConnection) -> PageFrame | None:
    frame: PageFrame | None = connection.scope.get("state", {}).get(_FRAME_KEY)
    return frame


class SessionCsrf(CsrfProtection):
    """The kernel's signed double-submit check, with the session's CSRF secret as the "cookie" value: a token is
    valid only with the `pay_session` it was issued for. No separate CSRF cookie is set."""

    def __init__(self, secret: bytes, sessions: SessionCodec) -> None:
        super().__init__(secret, secure=True)
        self.sessions = sessions

    def cookie_value(self, request: Request) -> str | None:
        session = self.sessions.read(request)
        return session.csrf if session is not None and session.csrf else None

    def set_cookie(self, response: Response, value: str) -> None:
        """Nothing to set: a page without a session has no form to protect."""


def pounds(pence: int) -> str:
    """`£1,234.50`: the amount as GOV.UK Pay shows it, in both languages."""
    return f"£{pence // 100:,}.{pence % 100:02d}"


class PayPages(Pages):
    def __init__(self, *, csrf_secret: bytes, sessions: SessionCodec, asset_path: str = "/assets") -> None:
        super().__init__(
            [TEMPLATES],
            locale_dirs=[HERE / "locale"],
            csrf_secret=csrf_secret,
            asset_path=asset_path,
            service_url="",
            template_globals={"pounds": pounds},
        )
        self.sessions = sessions
        self.csrf = SessionCsrf(csrf_secret, sessions)
        self._country_selects: dict[tuple[str, str, str | None], Markup] = {}
        self.security_headers = {
            **self.security_headers,
            "Content-Security-Policy": f"{self.security_headers['Content-Security-Policy']}; "
            f"report-uri {CSP_REPORT_PATH}",
            "Referrer-Policy": "no-referrer",
            "Strict-Transport-Security": "max-age=31536000",
        }

    def warm(self) -> None:
        """Compile every page template in every language at start-up, with every template they extend, include
        or import (Jinja compiles those only when a page first renders), so the first payer a process serves does
        not wait for it (about 0.3 s for the card page); and render the usual country select."""
        pending = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")] + ["gaap/error.html"]
        for lang, env in self.environments.items():
            seen: set[str] = set()
            names = list(pending)
            while names:
                name = names.pop()
                if name in seen:
                    continue
                seen.add(name)
                env.get_template(name)
                source, _filename, _uptodate = env.loader.get_source(env, name)  # type: ignore[union-attr]
                names.extend(ref for ref in meta.find_referenced_templates(env.parse(source)) if ref is not None)
            self.country_select(lang, DEFAULT, None)

    def country_select(self, lang: str, value: str, error: str | None) -> Markup:
        """The billing country select (GOV.UK Frontend's `govukSelect`, 249 options), rendered once per
        language, selected country and error message, then reused: the same markup as rendering it in the page.
        A value that is not a country selects nothing, as in the macro, so it shares the unselected entry."""
        key = (lang, value if is_country(value) else "", error or None)
        html = self._country_selects.get(key)
        if html is None:
            template = self.environments[lang].get_template("pay/country_select.html")
            # The output of an autoescaped template (every name and message in it escaped), as `{% include %}`.
            html = Markup(template.render(countries=choices(lang), value=key[1], error=key[2]))  # noqa: S704
            if len(self._country_selects) >= COUNTRY_SELECTS_KEPT:
                self._country_selects.clear()
            self._country_selects[key] = html
        return html

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
        """A page in the payment's language (fixed per payment, §13.7), with its service's name and test banner."""
        frame = frame_of(request)
        values: dict[str, Any] = {}
        if frame is not None:
            lang = lang or frame.lang
            values = {"service_name": frame.service_name, "test_account": frame.test_account}
        return super().render(
            request, template_name, {**values, **(context or {})}, status_code, lang=lang, headers=headers
        )

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
        if reason == SESSION_EXPIRED:
            return self.render(request, "pay/session_expired.html", {}, status_code, lang=lang, headers=headers)
        return super().render_error(
            request,
            status_code,
            reason=reason,
            title=title,
            message=message,
            lang=lang,
            retry_after=retry_after,
            headers=headers,
            template_name=template_name,
        )

    def see_other(self, url: str) -> RedirectResponse:
        """A 303 carrying the pages' headers, so a redirect is never cached and never leaks a referrer either."""
        return RedirectResponse(url, status_code=303, headers=self.security_headers)


def install_pages(app: FastAPI, *, secret: bytes, session_max_age: int) -> PayPages:
    """Build pay's `Pages` once at start-up and install it; `secret` is `PAY_TOKEN_SECRET`, from which the session
    and CSRF keys are derived under their own labels."""
    sessions = SessionCodec(secret, max_age=session_max_age)
    csrf_secret = hmac.new(secret, b"gaap-pay/pages-csrf/v1", hashlib.sha256).digest()
    pages = PayPages(csrf_secret=csrf_secret, sessions=sessions)
    pages.install(app, page_prefixes=PAGE_PREFIXES)
    pages.warm()
    return pages


def pages_of(connection: HTTPConnection) -> PayPages:
    pages: PayPages = connection.app.state.pages
    return pages
