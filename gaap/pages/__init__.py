"""The kernel's page layer: GOV.UK Frontend pages in English and Welsh, with CSRF protection (ARCHITECTURE rule 7).

See docs/pages.md. What components import:

- `Pages`: the Jinja environment, built once at start-up; `render`, `render_error`, `install(app)`;
- `CsrfProtected` / `require_csrf`: the dependency that checks a form post's CSRF token;
- `render_error_page`, `PageError`, `PageRoute`: HTML error pages;
- `assets_app`: the `/assets` app the gateway mounts;
- `language_from_ui_locales`, `missing_translations`: for identity's `ui_locales` and catalogue tests.

Names are imported on first use, so `python -m gaap.pages.assets` runs its module once, as `__main__`, rather
than after the package has already imported it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gaap.pages.assets import assets_app, build_assets, ensure_assets, verify_assets
    from gaap.pages.csrf import CsrfFailed, CsrfProtected, CsrfProtection, require_csrf
    from gaap.pages.errors import PageError, PageRoute, render_error_page
    from gaap.pages.i18n import SUPPORTED_LANGUAGES, choose_language, language_from_ui_locales, missing_translations
    from gaap.pages.templating import Pages

_HOMES = {
    "assets_app": "assets",
    "build_assets": "assets",
    "ensure_assets": "assets",
    "verify_assets": "assets",
    "CsrfFailed": "csrf",
    "CsrfProtected": "csrf",
    "CsrfProtection": "csrf",
    "require_csrf": "csrf",
    "PageError": "errors",
    "PageRoute": "errors",
    "render_error_page": "errors",
    "SUPPORTED_LANGUAGES": "i18n",
    "choose_language": "i18n",
    "language_from_ui_locales": "i18n",
    "missing_translations": "i18n",
    "Pages": "templating",
}

__all__ = [
    "SUPPORTED_LANGUAGES",
    "CsrfFailed",
    "CsrfProtected",
    "CsrfProtection",
    "PageError",
    "PageRoute",
    "Pages",
    "assets_app",
    "build_assets",
    "choose_language",
    "ensure_assets",
    "language_from_ui_locales",
    "missing_translations",
    "render_error_page",
    "require_csrf",
    "verify_assets",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gaap.pages' has no attribute {name!r}")
    return getattr(import_module(f"gaap.pages.{home}"), name)
