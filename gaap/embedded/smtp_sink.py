"""The email sink: a real SMTP server that stands in for an email provider in development and tests.

Notify's worker speaks plain SMTP to it exactly as it would to a relay, so the code under test is the
production code. Every accepted message is stored in a Maildir (the directory given), with the envelope
prepended as `X-GaaP-Envelope-From`, `X-GaaP-Envelope-To` and `X-GaaP-Received-At` headers, so the developer
inbox (`gaap.embedded.inbox`) and tests in other processes can read what was "sent".

Duplicates. Notify sends each email with `Message-ID: <notification_id@domain>` and may send it twice (a
worker that crashed after the DATA reply, a retry after a timeout). A second message whose Message-ID is
already in the Maildir is answered `250 2.0.0 Duplicate Message-ID <id>: already delivered, dropped` and not
stored. A success code is deliberate: a real relay would accept the copy too, so the worker needs no
sink-specific code and its retry ends as "already delivered" rather than on a failure path; the reply text
(`is_duplicate_reply`) and the `duplicates` count in `gaap-sink-stats.json` let a sender or a test observe
it. The Message-ID index is rebuilt from the Maildir at start, so de-duplication survives a restart; a
message without a Message-ID is always stored.

Fault injection, by recipient (so concurrent tests do not disturb each other; `+tag` allowed, any domain) or for
every message. Refusals are counted as `temporary_failures` / `permanent_failures` in the stats:
- a local part `smtp-fail-temporary` is refused at RCPT with `451 4.2.0`, `smtp-fail-permanent` with `550 5.1.1`
  (other recipients of the transaction are accepted); `smtp-fail-temporary-N` is refused the first N times that
  exact address is tried, then accepted ("fail twice, then recover").
- `smtp-slow`: the message is stored, then the DATA reply waits `slow_reply_seconds`, like a relay that accepted
  a message but whose answer never reached the sender in time; the sender's retry is then a duplicate.
- the file `gaap-sink-fault.json` in the Maildir (`set_sink_fault`, from any process), read at every DATA:
  mode `temporary` answers `451 4.3.0`, `permanent` answers `554 5.3.0` (nothing stored), `slow` waits
  `delay_seconds` before storing and answering, to trip a sender's timeout. `remaining` limits the fault
  to that many transactions, after which the file is removed ("fail once, then recover").

Receipts. Given a `receipt_url` (notify's `/notifications/email/<provider>`, through the gateway), the sink plays
the provider's receipt service: `receipt_delay_seconds` after it accepts a message it POSTs
`{"message_id", "status", "recipient", "timestamp"}` with HTTP Basic credentials, in a JSON array with every other
receipt due by then (`ReceiptPoster`), retrying refusals and connection errors with backoff (honouring
`Retry-After`). A duplicate gets the receipt its first copy got, as a relay that
delivered the copy would send. The status is `delivered`, except for the recipients `receipt-permanent-bounce`
(`permanent-bounce`) and `receipt-transient-bounce` (`transient-bounce`); `receipt-drop` never gets one. Counted as
`receipts_sent`, `receipt_failures` and `receipts_dropped`.

Run: `python -m gaap.embedded.smtp_sink --host 127.0.0.1 --port 1025 --maildir var/mail [--receipt-url URL]` until
SIGTERM or SIGINT (receipt credentials `user:password` from `SMTP_SINK_RECEIPT_AUTH`), or in-process with
`SmtpSink(maildir, receipts=...).start()` / `.stop()`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import mailbox
import math
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from gaap import logging as gaap_logging
from gaap.embedded.inbox import (
    ENVELOPE_FROM_HEADER,
    ENVELOPE_TO_HEADER,
    RECEIVED_AT_HEADER,
    SINK_FAULT_FILE,
    SINK_STATS_FILE,
    iter_maildir_files,
    normalise_message_id,
    sink_stats,
)

log = structlog.get_logger("gaap.embedded.smtp_sink")

DUPLICATE_REPLY_PREFIX = "250 2.0.0 Duplicate Message-ID"
TEMPORARY_FAIL_LOCAL_PART = "smtp-fail-temporary"
PERMANENT_FAIL_LOCAL_PART = "smtp-fail-permanent"
SLOW_LOCAL_PART = "smtp-slow"
RECEIPT_DROP_LOCAL_PART = "receipt-drop"
#: Recipients whose receipt reports a bounce; every other accepted message is `delivered`.
RECEIPT_OUTCOMES = {"receipt-permanent-bounce": "permanent-bounce", "receipt-transient-bounce": "transient-bounce"}
RECEIPT_AUTH_ENV = "SMTP_SINK_RECEIPT_AUTH"
FAULT_MODES = ("ok", "temporary", "permanent", "slow")
_FAIL_N_TIMES = re.compile(rf"{TEMPORARY_FAIL_LOCAL_PART}-(\d+)")
#: How many recent duplicate Message-IDs the stats file keeps, for debugging a test that saw one.
_RECENT_DUPLICATES = 20
#: The most receipts the sink posts in one request (notify takes up to 1,000).
RECEIPT_BATCH = 500


def is_duplicate_reply(reply: str) -> bool:
    """True when a DATA reply (code and text, or text alone) is the sink's "duplicate, dropped" answer."""
    text = reply.strip()
    return text.startswith(DUPLICATE_REPLY_PREFIX) or text.startswith(DUPLICATE_REPLY_PREFIX[4:])


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write via a temporary file and `os.replace`, so a reader in another process never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def set_sink_fault(maildir: Path | str, mode: str, *, remaining: int | None = None, delay_seconds: float = 0.0) -> None:
    """Make the sink (in any process) answer DATA with a fault; `mode="ok"` clears it."""
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {FAULT_MODES}")
    path = Path(maildir) / SINK_FAULT_FILE
    if mode == "ok":
        clear_sink_fault(maildir)
        return
    write_json_atomically(path, {"mode": mode, "remaining": remaining, "delay_seconds": delay_seconds})


def clear_sink_fault(maildir: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (Path(maildir) / SINK_FAULT_FILE).unlink()


def _local_part(address: str) -> str:
    return address.strip("<>").rpartition("@")[0].split("+", 1)[0].lower()


@dataclass(frozen=True)
class ReceiptSettings:
    """Where and how the sink reports what became of the messages it accepted."""

    url: str
    username: str
    password: str
    delay_seconds: float = 0.5
    #: With the default backoff (doubling from 0.25 s, at most 30 s apart) about three minutes of retries: enough
    #: for a receipt that overtook the worker, a restart of notify, or the gateway's rate limit to pass.
    attempts: int = 12
    retry_seconds: float = 0.25
    #: At most one post this often (unless a full batch is waiting): receipts that fall due meanwhile share it, as a
    #: provider's event webhook gathers a moment's events into one request.
    batch_seconds: float = 0.05

    @classmethod
    def from_env(cls, url: str, delay_seconds: float) -> ReceiptSettings:
        user, sep, password = os.environ.get(RECEIPT_AUTH_ENV, "").partition(":")
        if not sep:
            raise SystemExit(f"{RECEIPT_AUTH_ENV} must hold the receipt credentials as user:password")
        return cls(url=url, username=user, password=password, delay_seconds=delay_seconds)


def receipt_status(recipient: str) -> str | None:
    """The outcome the sink reports for a recipient; None when it reports nothing."""
    local = _local_part(recipient)
    if local == RECEIPT_DROP_LOCAL_PART:
        return None
    return RECEIPT_OUTCOMES.get(local, "delivered")


@dataclass(eq=False)
class _Receipt:
    """One receipt waiting to be posted: what it says, when it is due, and how many posts it has had."""

    message_id: str
    recipient: str
    status: str
    due: float
    tries: int = 0

    def body(self) -> dict[str, str]:
        return {
            "message_id": f"<{self.message_id}>",
            "status": self.status,
            "recipient": self.recipient,
            "timestamp": datetime.now(UTC).isoformat(),
        }


class ReceiptPoster:
    """Posts receipts from one background task on the sink's event loop, in batches: at most one post every
    `batch_seconds` (unless a full batch is waiting), carrying every receipt due by then (a JSON array of up to
    `RECEIPT_BATCH`), so under load one request carries hundreds of receipts and a lone receipt waits at most
    `batch_seconds` more. notify answers a batch with one
    answer per receipt; those it asks to `retry` (the message overtook the worker's record of it), and every
    receipt of a post that failed, are posted again with backoff. `aclose` drops what is still waiting."""

    def __init__(self, settings: ReceiptSettings, count: Callable[[str], None]) -> None:
        self.settings = settings
        self._count = count
        #: aiohttp, not httpx: httpx's client cost the sink about 2 ms of CPU a receipt, several times what storing
        #: the message costs (docs/benchmarks.md, "Delivery").
        self._client: aiohttp.ClientSession | None = None
        self._waiting: list[_Receipt] = []
        self._wake = asyncio.Event()
        self._sleeping_until = math.inf
        self._task: asyncio.Task[None] | None = None

    def schedule(self, message_id: str, recipient: str) -> None:
        status = receipt_status(recipient)
        if status is None:
            self._count("receipts_dropped")
            return
        loop = asyncio.get_running_loop()
        receipt = _Receipt(message_id, recipient, status, loop.time() + self.settings.delay_seconds)
        self._waiting.append(receipt)
        if receipt.due < self._sleeping_until:
            self._wake.set()  # it falls due before the poster means to look again
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="smtp-sink-receipts")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_post = -math.inf
        while self._waiting:
            now = loop.time()
            due = [r for r in self._waiting if r.due <= now][:RECEIPT_BATCH]
            ready_at = max(min(r.due for r in self._waiting), last_post + self.settings.batch_seconds)
            if len(due) < RECEIPT_BATCH and ready_at > now:
                self._wake.clear()
                self._sleeping_until = ready_at
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), ready_at - now)
                self._sleeping_until = math.inf
                continue
            taken = {id(r) for r in due}
            self._waiting = [r for r in self._waiting if id(r) not in taken]
            last_post = loop.time()
            await self._post(due)

    async def _post(self, batch: list[_Receipt]) -> None:
        settings = self.settings
        if self._client is None:
            self._client = aiohttp.ClientSession(
                headers={"Authorization": aiohttp.encode_basic_auth(settings.username, settings.password)},
                timeout=aiohttp.ClientTimeout(total=5.0),
            )
        status: int | None = None
        retry_after: str | None = None
        answers: Any = None
        try:
            async with self._client.post(settings.url, json=[r.body() for r in batch]) as response:
                status, retry_after = response.status, response.headers.get("retry-after")
                raw = await response.read()
            if response.ok:
                with contextlib.suppress(ValueError):
                    answers = json.loads(raw)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("smtp_sink.receipts_unreachable", count=len(batch), error=repr(exc))
        if status is None or not 200 <= status < 300:
            again = batch
        else:
            # A 2xx takes every receipt but those the answer asks to post again.
            results = [a.get("result") if isinstance(a, dict) else None for a in answers or []]
            again = [r for r, result in zip(batch, results, strict=False) if result == "retry"]
            for receipt in batch:
                if receipt not in again:
                    self._count("receipts_sent")
            log.info("smtp_sink.receipts_sent", count=len(batch) - len(again))
        now = asyncio.get_running_loop().time()
        for receipt in again:
            receipt.tries += 1
            if receipt.tries >= settings.attempts:
                self._count("receipt_failures")
                log.warning("smtp_sink.receipt_failed", message_id=receipt.message_id, status_code=status)
                continue
            backoff = settings.retry_seconds * 2 ** (receipt.tries - 1)
            receipt.due = now + _retry_delay(backoff, status, retry_after)
            self._waiting.append(receipt)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._waiting.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None


def _retry_delay(backoff: float, status: int | None, retry_after: str | None) -> float:
    """The backoff (at most 30 s), or a 429's `Retry-After` seconds (at most a minute) when it asks for longer."""
    backoff = min(backoff, 30.0)
    if status == 429 and retry_after and retry_after.isdigit():
        return max(backoff, min(float(retry_after), 60.0))
    return backoff


class MaildirHandler:
    """aiosmtpd handler: fault injection at RCPT and DATA, Message-ID de-duplication, Maildir storage.

    All hooks run on the server's one event loop and the check-then-store step has no `await` inside it,
    so two concurrent copies of one message cannot both be stored.
    """

    def __init__(
        self, maildir: Path | str, *, receipts: ReceiptSettings | None = None, slow_reply_seconds: float = 35.0
    ) -> None:
        self.path = Path(maildir)
        for sub in ("tmp", "new", "cur"):  # Maildir(create=True) skips these when the directory exists
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(self.path, create=False)
        self.stats_path = self.path / SINK_STATS_FILE
        self.fault_path = self.path / SINK_FAULT_FILE
        self.stats: dict[str, Any] = sink_stats(self.path)
        self.seen: set[str] = set(self._stored_message_ids())
        self.slow_reply_seconds = slow_reply_seconds
        self.receipts = ReceiptPoster(receipts, self._count) if receipts is not None else None
        #: `smtp-fail-temporary-N` addresses: how many more times each is refused.
        self._failures_left: dict[str, int] = {}

    def _stored_message_ids(self) -> Iterator[str]:
        parser = BytesHeaderParser(policy=compat32)
        for file in iter_maildir_files(self.path):
            with contextlib.suppress(OSError), open(file, "rb") as fh:
                message_id = normalise_message_id(parser.parse(fh).get("Message-ID"))
                if message_id:
                    yield message_id

    def _count(self, name: str, message_id: str | None = None) -> None:
        self.stats[name] = int(self.stats.get(name, 0)) + 1
        if message_id is not None:
            recent = [*self.stats.get("recent_duplicates", []), message_id]
            self.stats["recent_duplicates"] = recent[-_RECENT_DUPLICATES:]
        self.stats["updated_at"] = datetime.now(UTC).isoformat()
        write_json_atomically(self.stats_path, self.stats)

    def _take_fault(self) -> dict[str, Any] | None:
        """Read the fault file, consuming one of its `remaining` transactions."""
        try:
            fault = json.loads(self.fault_path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(fault, dict) or fault.get("mode") not in FAULT_MODES[1:]:
            return None
        remaining = fault.get("remaining")
        if isinstance(remaining, int):
            if remaining <= 1:
                clear_sink_fault(self.path)
            else:
                write_json_atomically(self.fault_path, {**fault, "remaining": remaining - 1})
        return fault

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local = _local_part(address)
        if local == TEMPORARY_FAIL_LOCAL_PART or self._fails_again(address, local):
            self._count("temporary_failures")
            return "451 4.2.0 Injected temporary failure for this recipient"
        if local == PERMANENT_FAIL_LOCAL_PART:
            self._count("permanent_failures")
            return "550 5.1.1 Injected permanent failure: no such recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _fails_again(self, address: str, local: str) -> bool:
        """Whether an `smtp-fail-temporary-N` address still has refusals left (counting this one)."""
        match = _FAIL_N_TIMES.fullmatch(local)
        if match is None:
            return False
        key = address.strip("<>").lower()
        left = self._failures_left.setdefault(key, int(match.group(1)))
        if left <= 0:
            return False
        self._failures_left[key] = left - 1
        return True

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._take_fault()
        if fault is not None:
            if fault["mode"] == "temporary":
                self._count("temporary_failures")
                return "451 4.3.0 Injected temporary failure, try again later"
            if fault["mode"] == "permanent":
                self._count("permanent_failures")
                return "554 5.3.0 Injected permanent failure"
            await asyncio.sleep(float(fault.get("delay_seconds") or 0))
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        message_id = normalise_message_id(BytesHeaderParser(policy=compat32).parsebytes(content).get("Message-ID"))
        if message_id and message_id in self.seen:
            self._count("duplicates", message_id)
            log.info("smtp_sink.duplicate", message_id=message_id)
            self._receipt(message_id, envelope)
            return f"{DUPLICATE_REPLY_PREFIX} <{message_id}>: already delivered, dropped"
        envelope_headers = (
            f"{ENVELOPE_FROM_HEADER}: {envelope.mail_from or ''}\r\n"
            f"{ENVELOPE_TO_HEADER}: {', '.join(envelope.rcpt_tos)}\r\n"
            f"{RECEIVED_AT_HEADER}: {datetime.now(UTC).isoformat()}\r\n"
        ).encode()
        key = self.maildir.add(envelope_headers + content)
        if message_id:
            self.seen.add(message_id)
        self._count("accepted")
        log.info("smtp_sink.stored", key=key, message_id=message_id, recipients=len(envelope.rcpt_tos))
        self._receipt(message_id, envelope)
        if any(_local_part(address) == SLOW_LOCAL_PART for address in envelope.rcpt_tos):
            await asyncio.sleep(self.slow_reply_seconds)  # stored already: the answer is what arrives late
        return "250 2.0.0 OK: queued as " + key

    def _receipt(self, message_id: str | None, envelope: Envelope) -> None:
        if self.receipts is not None and message_id and envelope.rcpt_tos:
            self.receipts.schedule(message_id, envelope.rcpt_tos[0])

    async def aclose(self) -> None:
        """Cancel receipts still waiting (the sink is stopping)."""
        if self.receipts is not None:
            await self.receipts.aclose()


class _SinkController(Controller):
    """aiosmtpd's Controller, taught port 0: it learns the bound port before its readiness probe."""

    def _trigger_server(self) -> None:
        if isinstance(self.server, asyncio.Server) and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """The sink in a background thread, for tests: `with SmtpSink(tmp_path) as sink: ... sink.port ...`."""

    def __init__(
        self,
        maildir: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        receipts: ReceiptSettings | None = None,
        slow_reply_seconds: float = 35.0,
    ) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self._requested_port = port
        self.receipts = receipts
        self.slow_reply_seconds = slow_reply_seconds
        self._controller: _SinkController | None = None
        self.handler: MaildirHandler | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the sink is not running")
        return int(self._controller.port)

    def start(self) -> SmtpSink:
        if self._controller is not None:
            raise RuntimeError("the sink is already running")
        self.handler = MaildirHandler(self.maildir, receipts=self.receipts, slow_reply_seconds=self.slow_reply_seconds)
        self._controller = _SinkController(self.handler, hostname=self.host, port=self._requested_port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            if self.handler is not None:  # receipts still waiting run on the server's loop: cancel them there
                asyncio.run_coroutine_threadsafe(self.handler.aclose(), self._controller.loop).result(timeout=10)
            self._controller.stop()
            self._controller = None

    def stats(self) -> dict[str, Any]:
        return sink_stats(self.maildir)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(host: str, port: int, maildir: Path, receipts: ReceiptSettings | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting and close the listener."""
    handler = MaildirHandler(maildir, receipts=receipts)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True), host=host, port=port)
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    bound = server.sockets[0].getsockname()[1]
    log.info("smtp_sink.listening", host=host, port=bound, maildir=str(maildir), messages=len(handler.seen))
    started = time.monotonic()
    await stopping.wait()
    server.close()
    await handler.aclose()
    await server.wait_closed()
    log.info("smtp_sink.stopped", uptime_seconds=round(time.monotonic() - started, 3))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gaap.embedded.smtp_sink", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, required=True, help="Maildir to store messages in (created)")
    parser.add_argument("--receipt-url", help=f"post delivery receipts here (credentials from {RECEIPT_AUTH_ENV})")
    parser.add_argument("--receipt-delay", type=float, default=0.5, help="seconds before a receipt is posted")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    gaap_logging.configure("smtp-sink", level=args.log_level)
    receipts = ReceiptSettings.from_env(args.receipt_url, args.receipt_delay) if args.receipt_url else None
    loop_factory: Any = None
    with contextlib.suppress(ImportError):  # uvloop, as every server of the platform runs on
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(args.host, args.port, args.maildir, receipts))


if __name__ == "__main__":
    main()
