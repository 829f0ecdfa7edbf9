"""Security headers for HTML pages, built once per `Pages` and copied onto every page response.

The Content-Security-Policy allows scripts, styles, fonts and images from the page's own origin (and the
assets' origin, when the gateway serves `/assets` from another host), plus the SHA-256 of each inline script
the GOV.UK template writes (the one that adds `js-enabled` and `govuk-frontend-supported` to `<body>`). Hashes
rather than nonces keep rendering free of per-request policy work and keep responses comparable in tests.

`form-action` is left open by default: identity and pay pages post to themselves and are then redirected to a
relying party or a service's return URL, and Chromium applies `form-action` to that redirect too. A component
whose forms never leave the origin (the console) passes `form_action=("'self'",)`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions (`'sha256-...'`) for every inline script in `html`, in order, without
    repeats."""
    hashes: list[str] = []
    for body in _INLINE_SCRIPT.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        source = f"'sha256-{digest}'"
        if source not in hashes:
            hashes.append(source)
    return hashes


def origin_of(url: str) -> str | None:
    """`https://host[:port]` for an absolute URL, None for a path on the page's own origin."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def content_security_policy(
    script_hashes: Iterable[str] = (),
    *,
    asset_origin: str | None = None,
    form_action: Sequence[str] | None = None,
) -> str:
    own = "'self'" if asset_origin is None else f"'self' {asset_origin}"
    directives = [
        "default-src 'self'",
        " ".join(["script-src", own, *script_hashes]),
        f"style-src {own}",
        f"font-src {own}",
        f"img-src {own}",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    if form_action:
        directives.append("form-action " + " ".join(form_action))
    return "; ".join(directives)


def page_security_headers(
    script_hashes: Iterable[str] = (),
    *,
    asset_origin: str | None = None,
    form_action: Sequence[str] | None = None,
) -> dict[str, str]:
    """Headers for every HTML page: CSP, no framing, no sniffing, no cross-origin referrer, no caching.

    Pages carry CSRF tokens and personal data, so no shared cache may keep them (`no-store`).
    """
    return {
        "Content-Security-Policy": content_security_policy(
            script_hashes, asset_origin=asset_origin, form_action=form_action
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cache-Control": "no-store",
    }
