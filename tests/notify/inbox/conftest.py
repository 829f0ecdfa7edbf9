"""A real notify behind a real gateway with two services, and development doubles holding mail for both.

The notify rig of `tests/notify/conftest.py` has one service and keeps its app to itself; the inbox needs a second
service (to prove one cannot read the other's mail) and the app's settings (to point it at the doubles), so this
module builds the same rig from the same helpers. Notifications are real rows, sent with the official client and a
`test` key; the doubles then receive what the delivery worker would send for those ids: an email over real SMTP with
`Message-ID: <id@notifications.gaap.test>`, a text stored with the id as its provider reference.
"""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from notifications_python_client.notifications import NotificationsAPIClient

from gaap.db.migrate import upgrade
from gaap.embedded.inbox import SmsStore
from gaap.embedded.smtp_sink import SmtpSink
from gateway.app import create_app as create_gateway
from services.notify.app import create_app as create_notify
from tests.gateway.conftest import make_settings
from tests.notify.conftest import ROOT, _seed, manage, notify_settings
from tests.support import serve_in_thread

EMAIL_DOMAIN = "notifications.gaap.test"
TEMPLATES = {
    "email": {"name": "Inbox email", "type": "email", "subject": "Hello ((name))", "body": "Hello ((name))"},
    "sms": {"name": "Inbox text", "type": "sms", "body": "Your code is ((code))"},
}


@dataclass
class Tenant:
    """One service of the rig, and what it sent: ids newest last, in the order the doubles received them."""

    service_id: uuid.UUID
    keys: dict[str, str]
    emails: list[tuple[str, str]] = field(default_factory=list)  # (notification id, recipient)
    texts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class InboxRig:
    url: str
    notify_app: FastAPI
    maildir: Path
    sms_store: Path
    ours: Tenant
    theirs: Tenant


def _send(url: str, tenant: Tenant, templates: dict[str, str], emails: list[str], phones: list[str]) -> None:
    client = NotificationsAPIClient(tenant.keys["test"], base_url=url)
    for address in emails:
        sent = client.send_email_notification(address, templates["email"], personalisation={"name": "Ada"})
        tenant.emails.append((sent["id"], address))
    for phone in phones:
        sent = client.send_sms_notification(phone, templates["sms"], personalisation={"code": "123456"})
        tenant.texts.append((sent["id"], phone))


def deliver_email(smtp: smtplib.SMTP, message_id: str, to: str, subject: str) -> None:
    """What the delivery worker sends: plain text and HTML, a one-click unsubscribe header, the id as Message-ID."""
    msg = EmailMessage()
    msg["From"] = f"Notify tests <notify-tests@{EMAIL_DOMAIN}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    msg["List-Unsubscribe"] = f"<https://example.gov.uk/unsubscribe/{message_id}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(f"Plain text for {to}\n")
    msg.add_alternative(f"<p>HTML for <b>{to}</b></p>\n", subtype="html")
    smtp.send_message(msg)
    # File times are coarse (a clock tick); a pause keeps "newest first" unambiguous between consecutive messages.
    time.sleep(0.01)


def _deliver(maildir: Path, sms_store: Path, sent_in_order: list[tuple[str, str, str]]) -> None:
    with SmtpSink(maildir) as sink, smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for channel, nid, to in sent_in_order:
            if channel == "email":
                deliver_email(smtp, f"{nid}@{EMAIL_DOMAIN}", to, f"Hello {to}")
        # Mail notify never sent: an id with no notification, and a Message-ID from another domain.
        deliver_email(smtp, f"{uuid.uuid4()}@{EMAIL_DOMAIN}", "ada@example.com", "Not a notification")
        deliver_email(smtp, f"{uuid.uuid4()}@elsewhere.example", "ada@example.com", "Not from notify")
    store = SmsStore(sms_store)
    try:
        for channel, nid, to in sent_in_order:
            if channel == "sms":
                store.accept(
                    provider="mmg",
                    reference=nid,
                    to=to,
                    content=f"Your code is 123456 ({to})",
                    sender="GOVUK",
                    receipt_url=None,
                    receipt_state="none",
                    receipt_due_at=None,
                )
        store.accept(
            provider="firetext",
            reference=str(uuid.uuid4()),
            to="07700900123",
            content="Not a notification",
            sender=None,
            receipt_url=None,
            receipt_state="none",
            receipt_due_at=None,
        )
    finally:
        store.close()


@pytest.fixture(scope="session")
def inbox_rig(  # type: ignore[no-untyped-def]
    make_postgres_database, redis_url: str, upstreams: dict[str, str], tmp_path_factory
) -> Iterator[InboxRig]:
    gateway_db = make_postgres_database("gw_inbox")
    notify_db = make_postgres_database("notify_inbox")
    asyncio.run(upgrade(ROOT / "services" / "notify" / "migrations", notify_db))
    notify_app = create_notify(notify_settings(notify_db, redis_url, "http://127.0.0.1"))
    with serve_in_thread(notify_app) as notify_url:
        gateway_settings = make_settings(gateway_db, redis_url, {**upstreams, "notify": notify_url})
        with serve_in_thread(create_gateway(gateway_settings)) as gateway_url:
            notify_app.state.settings.public_base_url = gateway_url
            tenants = []
            for email in ("ours@example.gov.uk", "theirs@example.gov.uk"):
                service_id, keys = asyncio.run(_seed(gateway_db, gateway_settings, notify_url, email))
                tenant = Tenant(service_id, keys)
                templates: dict[str, str] = {}
                with manage(gateway_url, keys["manage"]) as api:
                    for channel, body in TEMPLATES.items():
                        created = api.post("/v2/manage-template", json=body)
                        assert created.status_code == 201, created.text
                        templates[channel] = created.json()["id"]
                tenants.append((tenant, templates))
            (ours, ours_templates), (theirs, theirs_templates) = tenants
            emails = ["ada@example.com", "bob@example.com", "ada@example.com", "carol@example.com"]
            _send(gateway_url, ours, ours_templates, emails, ["07700 900123", "07700900456", "+447700900123"])
            _send(gateway_url, theirs, theirs_templates, ["ada@example.com"], ["07700900123"])
            # Interleave the services, as a shared double sees them.
            order = [
                ("email", *ours.emails[0]),
                ("email", *theirs.emails[0]),
                *[("email", *sent) for sent in ours.emails[1:]],
                ("sms", *ours.texts[0]),
                ("sms", *theirs.texts[0]),
                *[("sms", *sent) for sent in ours.texts[1:]],
            ]
            maildir = tmp_path_factory.mktemp("inbox") / "mail"
            sms_store = maildir.parent / "sms"
            _deliver(maildir, sms_store, order)
            yield InboxRig(gateway_url, notify_app, maildir, sms_store, ours, theirs)
