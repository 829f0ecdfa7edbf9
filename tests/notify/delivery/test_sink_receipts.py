"""The development SMTP sink playing an email provider (notify spec §16.2, §16.5): its receipts and its faults by
recipient, against a small receiver standing in for notify's webhook."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gaap.embedded.inbox import list_emails
from gaap.embedded.sink_receipts import ReceiptSettings
from gaap.embedded.smtp_sink import SmtpSink
from tests.support import serve_in_thread


class Receiver:
    """Records receipts (the sink posts them in JSON arrays); answers each post with the next of `answers` (then
    200), and a 200 with a result per receipt: `retry` for message ids in `retry` (once each), else `updated`."""

    def __init__(self) -> None:
        self.receipts: list[tuple[dict[str, Any], str | None]] = []
        self.posts: list[int] = []
        self.answers: list[int] = []
        self.retry: set[str] = set()
        self.lock = threading.Lock()

    async def post(self, request: Request) -> JSONResponse:
        batch = await request.json()
        assert isinstance(batch, list)
        with self.lock:
            self.posts.append(len(batch))
            self.receipts += [(body, request.headers.get("authorization")) for body in batch]
            status = self.answers.pop(0) if self.answers else 200
            results = []
            for body in batch:
                again = body["message_id"] in self.retry
                self.retry.discard(body["message_id"])
                results.append({"result": "retry" if again else "updated"})
        headers = {"Retry-After": "0"} if status == 429 else None
        return JSONResponse(results if status == 200 else {}, status_code=status, headers=headers)

    def wait_for(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.receipts) >= count:
                    return [body for body, _auth in self.receipts]
            time.sleep(0.02)
        raise TimeoutError(f"{count} receipts expected, got {len(self.receipts)}")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with serve_in_thread(Starlette(routes=[Route("/receipts", found.post, methods=["POST"])])) as url:
        yield found, f"{url}/receipts"


@pytest.fixture
def sink(tmp_path: Path, receiver: tuple[Receiver, str]) -> Iterator[SmtpSink]:
    settings = ReceiptSettings(url=receiver[1], username="sink", password="pw", delay_seconds=0.0, retry_seconds=0.05)
    with SmtpSink(tmp_path / "mail", receipts=settings, slow_reply_seconds=1.0) as running:
        yield running


def email(to: str, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "svc@example.gov.uk", to, "Hi", f"<{message_id}>"
    msg.set_content("Hello")
    return msg


def wait_for_count(sink: SmtpSink, name: str, value: int, within: float = 10.0) -> int:
    """The sink's `name` count once it reaches `value` (the poster counts a receipt after the receiver answered)."""
    deadline = time.monotonic() + within
    while sink.stats().get(name) != value and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(sink.stats().get(name, 0))


def send(sink: SmtpSink, to: str, message_id: str, timeout: float = 10) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=timeout) as client:
        client.send_message(email(to, message_id))


def test_each_accepted_message_gets_a_receipt_with_the_providers_credentials(
    sink: SmtpSink, receiver: tuple[Receiver, str]
) -> None:
    found, _url = receiver
    send(sink, "ada@example.com", "one@notify.test")
    [receipt] = found.wait_for(1)
    assert {k: receipt[k] for k in ("message_id", "status", "recipient")} == {
        "message_id": "<one@notify.test>",
        "status": "delivered",
        "recipient": "ada@example.com",
    }
    assert "timestamp" in receipt
    assert found.receipts[0][1] == "Basic c2luazpwdw=="  # sink:pw
    assert wait_for_count(sink, "receipts_sent", 1) == 1


def test_bounce_recipients_and_a_duplicate_get_their_receipts(sink: SmtpSink, receiver: tuple[Receiver, str]) -> None:
    found, _url = receiver
    send(sink, "receipt-permanent-bounce+a@example.com", "perm@notify.test")
    send(sink, "receipt-transient-bounce@example.com", "temp@notify.test")
    send(sink, "receipt-drop@example.com", "drop@notify.test")
    send(sink, "receipt-permanent-bounce+a@example.com", "perm@notify.test")  # a duplicate: dropped, reported again
    found.wait_for(3)
    time.sleep(0.2)  # nothing more comes: the dropped one never does
    assert sorted((body["message_id"], body["status"]) for body, _auth in found.receipts) == [
        ("<perm@notify.test>", "permanent-bounce"),
        ("<perm@notify.test>", "permanent-bounce"),
        ("<temp@notify.test>", "transient-bounce"),
    ]
    stats = sink.stats()
    assert (stats["accepted"], stats["duplicates"], stats["receipts_dropped"]) == (3, 1, 1)


def test_refused_receipts_are_posted_again(sink: SmtpSink, receiver: tuple[Receiver, str]) -> None:
    found, _url = receiver
    found.answers = [409, 503, 429]
    send(sink, "ada@example.com", "again@notify.test")
    receipts = found.wait_for(4)
    assert [r["message_id"] for r in receipts] == ["<again@notify.test>"] * 4
    time.sleep(0.2)
    assert len(found.receipts) == 4  # the fourth was taken: no more
    assert wait_for_count(sink, "receipts_sent", 1) == 1


def test_receipts_due_together_go_in_one_post_and_those_answered_retry_go_again(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    found, url = receiver
    found.retry = {"<early@notify.test>"}
    settings = ReceiptSettings(url=url, username="sink", password="pw", delay_seconds=1.0, retry_seconds=0.05)
    with SmtpSink(tmp_path / "mail", receipts=settings) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            for i in range(40):
                client.send_message(email(f"ada{i}@example.com", "early@notify.test" if i == 0 else f"m{i}@nt.test"))
        receipts = found.wait_for(41)
        assert wait_for_count(sink, "receipts_sent", 40) == 40
    assert [r["message_id"] for r in receipts].count("<early@notify.test>") == 2  # answered retry, sent again
    assert len(found.posts) < 41 and max(found.posts) > 1  # due together, posted together


def test_a_receipt_given_up_on_is_counted(tmp_path: Path) -> None:
    settings = ReceiptSettings(
        url="http://127.0.0.1:9/nowhere", username="u", password="p", delay_seconds=0, attempts=2, retry_seconds=0.01
    )
    with SmtpSink(tmp_path / "mail", receipts=settings) as sink:
        send(sink, "ada@example.com", "lost@notify.test")
        assert wait_for_count(sink, "receipt_failures", 1) == 1


def test_fail_n_times_recovers_for_that_address_only(sink: SmtpSink) -> None:
    for _ in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(sink, "smtp-fail-temporary-2+x@example.com", "n@notify.test")
    send(sink, "smtp-fail-temporary-2+x@example.com", "n@notify.test")  # the third try is taken
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # another address has its own count
        send(sink, "smtp-fail-temporary-2+y@example.com", "other@notify.test")
    assert sink.stats()["temporary_failures"] == 3
    assert [e.message_id for e in list_emails(sink.maildir)] == ["n@notify.test"]


def test_a_slow_recipients_message_is_stored_before_the_late_answer(sink: SmtpSink) -> None:
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        send(sink, "smtp-slow@example.com", "slow@notify.test", timeout=0.3)
    assert [e.message_id for e in list_emails(sink.maildir)] == ["slow@notify.test"]
    started = time.monotonic()
    send(sink, "smtp-slow@example.com", "slow@notify.test")  # the sender's retry: a duplicate, answered at once
    assert time.monotonic() - started < 0.5
    assert sink.stats()["duplicates"] == 1
