"""A notify of its own behind a gateway of its own, for files sent by email and one-click unsubscribe: the same
parts as the notify tests' rig (real PostgreSQL, Redis, the gateway's tenant push, templates made through the
API), plus the development SMTP sink, ClamAV with the project's EICAR signature, and a service with contact
details for the download pages. Its own, because the tests change the service and the scanner.

The fixtures are imported by the conftests that use them (`tests/notify/documents`, `tests/notify/unsubscribe`,
`tests/browser/test_notify_documents.py`)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gaap.db.migrate import upgrade
from gaap.embedded.sink_receipts import ReceiptSettings
from gaap.embedded.smtp_sink import SmtpSink
from gateway.app import create_app as create_gateway
from services.notify.app import create_app as create_notify
from services.notify.letters.scanning import ClamAvScanner
from tests.gateway.conftest import make_settings
from tests.notify.conftest import (
    EMAIL_RECEIPT_PASSWORD,
    EMAIL_RECEIPT_USER,
    ROOT,
    NotifyRig,
    _seed,
    change_service,
    manage,
    notify_settings,
)
from tests.support import serve_in_thread

SIGNATURES = ROOT / "tests" / "notify" / "letters" / "eicar.ndb"
#: The project's EICAR test signature's string (see tests/notify/letters/test_precompiled.py).
EICAR = bytes.fromhex(SIGNATURES.read_text().strip().rsplit(":", 1)[1])
CONTACT = "https://www.example.gov.uk/contact"
TEAM_EMAIL = "team@example.gov.uk"
TEMPLATES = {
    "file": {
        "name": "Your report",
        "type": "email",
        "subject": "Your report is ready",
        "body": "Hello ((name)),\n\nDownload your report: ((link_to_file))",
    },
    "newsletter": {
        "name": "Newsletter",
        "type": "email",
        "subject": "News from us",
        "body": "Hello ((name)), here is our news.",
        "has_unsubscribe_link": True,
    },
    "sms": {"name": "Text", "type": "sms", "body": "Hello ((name))"},
}


@dataclass
class FilesRig:
    rig: NotifyRig
    app: Any
    sink: SmtpSink
    templates: dict[str, str]

    @property
    def url(self) -> str:
        return self.rig.url


# The session fixture `files_rig`, registered once for the suite by tests/rigs.py.
def files_rig(
    make_postgres_database: Any, redis_url: str, upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilesRig]:
    gateway_db = make_postgres_database("gw_files")
    notify_db = make_postgres_database("notify_files")
    asyncio.run(upgrade(ROOT / "services" / "notify" / "migrations", notify_db))
    app = create_notify(notify_settings(notify_db, redis_url, "http://127.0.0.1"))
    with serve_in_thread(app) as notify_url:
        # Scans with the project's EICAR signature: ClamAV has no signatures offline.
        app.state.sending = dataclasses.replace(app.state.sending, scanner=ClamAvScanner(database=str(SIGNATURES)))
        gateway_settings = make_settings(gateway_db, redis_url, {**upstreams, "notify": notify_url})
        with serve_in_thread(create_gateway(gateway_settings)) as gateway_url:
            app.state.settings.public_base_url = gateway_url
            service_id, keys = asyncio.run(_seed(gateway_db, gateway_settings, notify_url, TEAM_EMAIL))
            rig = NotifyRig(gateway_url, service_id, keys, {}, gateway_db, notify_db, redis_url, notify_url)
            set_contact(rig, CONTACT)
            templates: dict[str, str] = {}
            with manage(gateway_url, keys["manage"]) as api:
                for name, body in TEMPLATES.items():
                    created = api.post("/v2/manage-template", json=body)
                    assert created.status_code == 201, created.text
                    templates[name] = created.json()["id"]
            receipts = ReceiptSettings(
                url=f"{gateway_url}/notifications/email/smtp",
                username=EMAIL_RECEIPT_USER,
                password=EMAIL_RECEIPT_PASSWORD,
                delay_seconds=0.05,
                retry_seconds=0.1,
            )
            with SmtpSink(tmp_path_factory.mktemp("files-mail"), receipts=receipts) as sink:
                yield FilesRig(rig, app, sink, templates)


def set_contact(rig: NotifyRig, contact: str | None) -> None:
    """The service's contact details for the download pages, pushed by the gateway as the console would."""
    change_service(rig, settings={"notify": {"contact_link": contact} if contact else {}})


def page_client(rig: FilesRig) -> httpx.AsyncClient:
    """A browser-like client: keeps cookies, does not follow redirects (tests look at each one)."""
    return httpx.AsyncClient(base_url=rig.url, timeout=30)


def csrf_token(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def path_of(url: str) -> str:
    parts = httpx.URL(url)
    return parts.raw_path.decode()
