"""The SMTP sink: storage in a Maildir, Message-ID de-duplication, fault injection and the command line."""

from __future__ import annotations

import mailbox
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from gaap.embedded.inbox import SINK_FAULT_FILE, get_email, list_emails, sink_stats
from gaap.embedded.smtp_sink import SmtpSink, is_duplicate_reply, set_sink_fault

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_email(
    to: str = "citizen@example.com", *, message_id: str | None = None, subject: str = "Your licence"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = '"Apply for a licence" <apply-licence@notifications.example.gov.uk>'
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2024, 5, 17, 15, 58, 38, tzinfo=UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="notifications.example.gov.uk")
    msg["List-Unsubscribe"] = "<https://example.gov.uk/unsubscribe/abc>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content("Hello Ada,\n\nYour licence is ready.\n")
    msg.add_alternative("<p>Hello Ada,</p><p>Your licence is <strong>ready</strong>.</p>", subtype="html")
    return msg


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def sink(maildir: Path) -> Iterator[SmtpSink]:
    with SmtpSink(maildir) as running:
        yield running


def send(sink: SmtpSink, msg: EmailMessage, to: list[str] | None = None) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        return client.send_message(msg, to_addrs=to)


def test_message_lands_in_the_maildir_with_headers_and_both_parts(sink: SmtpSink, maildir: Path) -> None:
    msg = make_email(message_id="<1f0e3c9a-5d1b-4c1e-9a53-7a1b2c3d4e5f@notifications.example.gov.uk>")

    assert send(sink, msg, to=["citizen@example.com", "bcc@example.com"]) == {}

    assert len(mailbox.Maildir(maildir)) == 1  # a real Maildir, readable by any Maildir reader
    [email] = list_emails(maildir)
    assert email.message_id == "1f0e3c9a-5d1b-4c1e-9a53-7a1b2c3d4e5f@notifications.example.gov.uk"
    assert email.sender == "Apply for a licence <apply-licence@notifications.example.gov.uk>"
    assert email.to == ("citizen@example.com",)
    assert email.envelope_to == ("citizen@example.com", "bcc@example.com")
    assert email.envelope_from == "apply-licence@notifications.example.gov.uk"
    assert email.subject == "Your licence"
    assert email.date == datetime(2024, 5, 17, 15, 58, 38, tzinfo=UTC)
    assert email.text_body is not None
    assert "Your licence is ready." in email.text_body
    assert email.html_body is not None
    assert "<strong>ready</strong>" in email.html_body
    assert email.header("list-unsubscribe") == "<https://example.gov.uk/unsubscribe/abc>"
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert get_email(maildir, "<1f0e3c9a-5d1b-4c1e-9a53-7a1b2c3d4e5f@notifications.example.gov.uk>") == email
    assert sink.stats()["accepted"] == 1


def test_duplicate_message_id_is_acknowledged_dropped_and_counted(sink: SmtpSink, maildir: Path) -> None:
    message_id = "<dup-1@notifications.example.gov.uk>"
    send(sink, make_email(message_id=message_id))

    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.ehlo()
        client.mail("apply-licence@notifications.example.gov.uk")
        client.rcpt("citizen@example.com")
        code, reply = client.data(make_email(message_id=message_id, subject="Second copy").as_bytes())

    assert code == 250
    assert is_duplicate_reply(reply.decode())
    assert "dup-1@notifications.example.gov.uk" in reply.decode()
    assert [e.subject for e in list_emails(maildir)] == ["Your licence"]
    stats = sink_stats(maildir)  # read from the file, as another process would
    assert stats["accepted"] == 1
    assert stats["duplicates"] == 1
    assert stats["recent_duplicates"] == ["dup-1@notifications.example.gov.uk"]

    send(sink, make_email(message_id="<other@notifications.example.gov.uk>"))
    assert sink_stats(maildir)["accepted"] == 2


def test_de_duplication_and_counts_survive_a_restart(maildir: Path) -> None:
    with SmtpSink(maildir) as first:
        send(first, make_email(message_id="<restart@example.gov.uk>"))
    with SmtpSink(maildir) as second:
        send(second, make_email(message_id="<restart@example.gov.uk>"))
        assert second.stats()["duplicates"] == 1
        assert second.stats()["accepted"] == 1
    assert len(list_emails(maildir)) == 1


def test_messages_without_message_id_are_always_stored(sink: SmtpSink, maildir: Path) -> None:
    msg = make_email()
    del msg["Message-ID"]
    send(sink, msg)
    send(sink, msg)
    assert len(list_emails(maildir)) == 2


def test_fault_recipients_are_refused_at_rcpt(sink: SmtpSink, maildir: Path) -> None:
    refused = send(sink, make_email(), to=["smtp-fail-temporary+a@example.com", "citizen@example.com"])
    assert refused["smtp-fail-temporary+a@example.com"][0] == 451
    assert list_emails(maildir)[0].envelope_to == ("citizen@example.com",)

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refusal:
        send(sink, make_email(), to=["smtp-fail-permanent@example.com"])
    assert refusal.value.recipients["smtp-fail-permanent@example.com"][0] == 550

    stats = sink_stats(maildir)
    assert (stats["temporary_failures"], stats["permanent_failures"], stats["accepted"]) == (1, 1, 1)


def test_fault_file_fails_data_then_recovers(sink: SmtpSink, maildir: Path) -> None:
    set_sink_fault(maildir, "temporary", remaining=1)
    with pytest.raises(smtplib.SMTPDataError) as temporary:
        send(sink, make_email(message_id="<retry@example.gov.uk>"))
    assert temporary.value.smtp_code == 451
    assert not (maildir / SINK_FAULT_FILE).exists()  # used up

    send(sink, make_email(message_id="<retry@example.gov.uk>"))  # the retry is not a duplicate: nothing stored
    assert len(list_emails(maildir)) == 1

    set_sink_fault(maildir, "permanent")
    for _ in range(2):  # no `remaining`: until cleared
        with pytest.raises(smtplib.SMTPDataError) as permanent:
            send(sink, make_email())
        assert permanent.value.smtp_code == 554
    set_sink_fault(maildir, "ok")
    send(sink, make_email())
    assert len(list_emails(maildir)) == 2
    assert sink_stats(maildir)["permanent_failures"] == 2


def test_slow_fault_delays_the_data_reply(sink: SmtpSink, maildir: Path) -> None:
    set_sink_fault(maildir, "slow", delay_seconds=0.5, remaining=1)
    started = time.monotonic()
    send(sink, make_email())
    assert time.monotonic() - started >= 0.5
    assert len(list_emails(maildir)) == 1


def test_list_emails_newest_first_with_limit_and_recipient_filter(sink: SmtpSink, maildir: Path) -> None:
    for n in range(3):
        send(sink, make_email(to=f"person{n % 2}@example.com", subject=f"message {n}"))
        time.sleep(0.01)  # distinct modification times
    assert [e.subject for e in list_emails(maildir)] == ["message 2", "message 1", "message 0"]
    assert [e.subject for e in list_emails(maildir, limit=2)] == ["message 2", "message 1"]
    assert [e.subject for e in list_emails(maildir, to="PERSON0@example.com")] == ["message 2", "message 0"]
    assert list_emails(maildir.parent / "missing") == []


def test_command_line_serves_until_sigterm(maildir: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gaap.embedded.smtp_sink", "--port", str(port), "--maildir", str(maildir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.send_message(make_email(message_id="<cli@example.gov.uk>"))
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert "smtp_sink.stopped" in stderr
    assert [e.message_id for e in list_emails(maildir)] == ["cli@example.gov.uk"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
