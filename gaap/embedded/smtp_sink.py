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

Receipts. Given a `receipt_url`, the sink plays the provider's receipt service (`sink_receipts`): every accepted
message, a duplicate included, gets the receipt its recipient calls for, posted in batches.

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
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

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
from gaap.embedded.sink_receipts import RECEIPT_AUTH_ENV, ReceiptPoster, ReceiptSettings, local_part

log = structlog.get_logger("gaap.embedded.smtp_sink")

DUPLICATE_REPLY_PREFIX = "250 2.0.0 Duplicate Message-ID"
TEMPORARY_FAIL_LOCAL_PART = "smtp-fail-temporary"
PERMANENT_FAIL_LOCAL_PART = "smtp-fail-permanent"
SLOW_LOCAL_PART = "smtp-slow"
FAULT_MODES = ("ok", "temporary", "permanent", "slow")
_FAIL_N_TIMES = re.compile(rf"{TEMPORARY_FAIL_LOCAL_PART}-(\d+)")
#: How many recent duplicate Message-IDs the stats file keeps, for debugging a test that saw one.
_RECENT_DUPLICATES = 20


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

    def _count(self, name: str, by: int = 1, message_id: str | None = None) -> None:
        self.stats[name] = int(self.stats.get(name, 0)) + by
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
        local = local_part(address)
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
            self._count("duplicates", message_id=message_id)
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
        if any(local_part(address) == SLOW_LOCAL_PART for address in envelope.rcpt_tos):
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
