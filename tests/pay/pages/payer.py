"""A payer's browser as an HTTP client, for the payment-page tests and the card-data scan.

It follows no redirect by itself, so tests see every 303, and it keeps the `pay_session` cookie by hand: the cookie
is `Secure`, which httpx's cookie jar will not send over `http://`, while Chromium does on loopback
(`tests/browser/test_pay_pages.py` pins that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.pay.conftest import RETURN_URL

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SUCCESS_CARD = "4444333322221111"
THREE_DS_CARD = "4000002500003155"
DECLINED_CARD = "4000000000000002"
ERROR_CARD = "4000000000000119"


def card_form(number: str = SUCCESS_CARD, **overrides: str) -> dict[str, str]:
    """A complete, valid card form for the default account (billing address and email collected)."""
    form = {
        "cardNo": number,
        "expiryMonth": "12",
        "expiryYear": "39",
        "cardholderName": "Ada Lovelace",
        "cvc": "739",
        "addressLine1": "1 Example Street",
        "addressLine2": "",
        "addressCity": "Cardiff",
        "addressPostcode": "CF10 1AA",
        "addressCountry": "GB",
        "email": "ada@example.org",
    }
    form.update(overrides)
    return form


@dataclass
class PayerBrowser:
    client: httpx.Client
    cookies: dict[str, str] = field(default_factory=dict)
    last_html: str = ""
    #: The CSRF token of the last form seen: bound to the session, it stays good while the session does.
    csrf_token: str = ""

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        path = urlsplit(url)._replace(scheme="", netloc="").geturl()
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                self.cookies[name] = morsel.value
        if response.headers.get("content-type", "").startswith("text/html"):
            self.last_html = response.text
            found = CSRF_FIELD.search(response.text)
            if found:
                self.csrf_token = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def csrf(self) -> str:
        assert self.csrf_token, "no page with a form has been seen yet"
        return self.csrf_token

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf())
        return self.request("POST", url, data=body)

    def follow(self, response: httpx.Response, limit: int = 10) -> httpx.Response:
        """Follow 303s on pay's own pages; stops at the service's `return_url` (not ours to fetch)."""
        while response.status_code in (302, 303) and limit:
            location = response.headers["location"]
            if location.startswith(RETURN_URL):
                return response
            response = self.get(location)
            limit -= 1
        return response

    def open(self, payment: dict[str, Any]) -> httpx.Response:
        """Follow the payment's `next_url`, as the service sends the payer, to the first page."""
        return self.follow(self.get(payment["_links"]["next_url"]["href"]))


def path_of(response: httpx.Response) -> str:
    """The path a 303 sends the payer to."""
    return urlsplit(response.headers["location"]).path


#: Opens another browser (no cookies): the `browser_factory` fixture.
BrowserFactory = Callable[[], PayerBrowser]
