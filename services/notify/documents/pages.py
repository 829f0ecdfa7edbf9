"""Notify's pages: the file download pages (`/d/*`, notify spec §12) and the unsubscribe pages (`/unsubscribe/*`,
§13.3), both reached by recipients through links in emails. One `Pages` serves both; each package keeps its own
templates and Welsh catalogue beside its code.

Notify has no secret of its own for pages, so the keys they need (CSRF, the download pages' confirmation cookie)
are derived from the first key of its keyring (`NOTIFY_ENCRYPTION_KEYS`) under labels of their own: rotating the
keyring rotates them too, and they never open what the keyring seals.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from gaap.pages import Pages
from gaap.settings import parse_keyring
from services.notify.settings import NotifySettings

NOTIFY = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [NOTIFY / "documents" / "templates", NOTIFY / "unsubscribe" / "templates"]
LOCALE_DIRS = [NOTIFY / "documents" / "locale", NOTIFY / "unsubscribe" / "locale"]
PAGE_PREFIXES = ("/d/", "/unsubscribe/")


def derived_key(settings: NotifySettings, label: str) -> bytes:
    """A key for one purpose, from the keyring's first (signing) key."""
    _kid, key = parse_keyring(settings.encryption_keys.get_secret_value())[0]
    return hmac.new(key, f"gaap-notify/{label}/v1".encode(), hashlib.sha256).digest()


def install_pages(app: FastAPI, settings: NotifySettings) -> Pages:
    """Build notify's `Pages` once at start-up (after `build_app`) and install it on the app."""
    pages = Pages(
        TEMPLATE_DIRS,
        locale_dirs=LOCALE_DIRS,
        csrf_secret=derived_key(settings, "pages-csrf"),
        secure=not settings.platform.is_development,
        form_action=("'self'",),
    )
    pages.install(app, page_prefixes=PAGE_PREFIXES)
    app.state.document_confirmation_key = derived_key(settings, "document-confirmation")
    return pages


def pages_of(connection: HTTPConnection) -> Pages:
    pages: Pages = connection.app.state.pages
    return pages
