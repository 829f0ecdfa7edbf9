"""The delivery bench's ledger (`bench.delivery`): what the SMTP sink holds against the notifications that should
have reached it, read from a real sink's Maildir, as `make bench` reads it after (f) and (g)."""

from __future__ import annotations

import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from bench.delivery import EMAIL_DOMAIN, compare, duplicate_count, first_stored_since, stored_message_ids
from gaap.embedded.smtp_sink import SmtpSink


def send(sink: SmtpSink, ident: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"bench@{EMAIL_DOMAIN}", "ada@example.gov.uk", "Hi"
    message["Message-ID"] = f"<{ident}@{EMAIL_DOMAIN}>"
    message.set_content("Hello")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.send_message(message)


def test_lost_duplicated_and_unexpected_emails_are_counted(tmp_path: Path) -> None:
    earlier, delivered, repeated, lost, stray = (str(uuid.uuid4()) for _ in range(5))
    with SmtpSink(tmp_path / "mail") as sink:
        send(sink, earlier)
        before = set(stored_message_ids(sink.maildir))
        wall = time.time()
        for ident in (delivered, repeated, repeated, stray):
            send(sink, ident)
        ledger = compare(sink.maildir, [delivered, repeated, lost], duplicate_count(sink.maildir), before)
        first = first_stored_since(sink.maildir, wall)
    assert before == {f"{earlier}@{EMAIL_DOMAIN}"}
    assert (ledger.expected, ledger.lost, ledger.duplicated, ledger.unexpected) == (3, 1, 1, 1)
    assert not ledger.clean
    assert first is not None and wall <= first <= time.time()


def test_every_email_once_is_clean(tmp_path: Path) -> None:
    idents = [str(uuid.uuid4()) for _ in range(3)]
    with SmtpSink(tmp_path / "mail") as sink:
        for ident in idents:
            send(sink, ident)
        ledger = compare(sink.maildir, idents, duplicate_count(sink.maildir), set())
    assert ledger.clean
    assert first_stored_since(tmp_path / "mail", time.time() + 60) is None
