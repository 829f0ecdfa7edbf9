"""The bench's delivery topology and its instruments: the loopback topology (`bench.topology`) plus notify's
delivery side, run as production runs it, and what measures it.

    harness ──► gateway (2 workers) ──► notify API (2 workers) ──► PostgreSQL, Redis (the delivery queue)
                    ▲                                                        │
                    │ receipts (HTTP, Basic)                                 ▼
              SMTP sink ◄──────────── SMTP ──────────────── `gaap worker notify` (one process or more)

- `DeliveryTopology`: `Topology` with the email side configured the way `gaap up` configures it: notify's worker
  delivers over SMTP to the project's own sink (`gaap.embedded.smtp_sink`, a separate process), which posts each
  message's receipt back through the gateway to notify's `/notifications/email/smtp`, which makes it `delivered`.
  Every notify process (the API and each worker) shares one encryption keyring, so a worker can read the rows the
  API wrote. Workers are started on demand (`start_workers`), so a backlog can be queued with none running.
- The sink keeps its Maildir on tmpfs (`/dev/shm` where there is one). On this machine's disk one file create
  costs about 0.25 ms and the fsync Python's `mailbox` does per message about 2.5 ms, both on the sink's one event
  loop: on disk the sink takes about 150 messages a second and would be what is measured. On tmpfs it stores and
  de-duplicates exactly as on disk; its rate alone is measured first (`blast_sink`).
- `sink_ledger`: which Message-IDs the sink holds (one file per message it stored), to count lost and duplicated
  emails; `preload`: sends through the gateway as fast as it takes them.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import orjson

from bench.topology import Child, Topology, _wait_ready
from gaap.embedded.inbox import iter_maildir_files, sink_stats
from gaap.embedded.ports import free_port
from gaap.embedded.sink_receipts import RECEIPT_AUTH_ENV, RECEIPT_DROP_LOCAL_PART
from gaap.settings import derive_audience_key, format_keyring, parse_keyring

GAAP = [sys.executable, "-m", "gaap.cli.main"]
#: notify's default `NOTIFY_EMAIL_DOMAIN`: every email's Message-ID is `<notification id@this>`.
EMAIL_DOMAIN = "notifications.gaap.test"
#: The sink's name as notify's email provider (`sent_by`, and the receipt path), as `gaap up` names it.
EMAIL_PROVIDER = "smtp"
#: One recipient for every bench email: not a smoke-test address, and one the sink sends a `delivered` receipt for.
RECIPIENT = "ada.lovelace@example.gov.uk"
#: Sends in flight while preloading (as wrk's 64 connections).
PRELOAD_CONCURRENCY = 64
#: A fresh Notify token this often while preloading (the gateway accepts an `iat` within 30 s).
TOKEN_EVERY = 10.0
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<?([^>\r\n]+)>?", re.IGNORECASE | re.MULTILINE)


def tmpfs_dir(prefix: str) -> Path:
    """A fresh directory on tmpfs (`/dev/shm`) when there is one, else in the temporary directory."""
    import tempfile

    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def email_body(template_id: str, index: int) -> bytes:
    """A send as scenario (e) makes it (four personalisation values, one a conditional), with its own reference."""
    personalisation = {"name": "Ada", "date": "1 December 2026", "place": "Room 4", "urgent": "yes"}
    return orjson.dumps(
        {
            "email_address": RECIPIENT,
            "template_id": template_id,
            "personalisation": personalisation,
            "reference": f"bench-f-{index}",
        }
    )


class DeliveryTopology(Topology):
    """`with DeliveryTopology(workdir, sink_dir) as topology:`, then `start_notify`, `start_gateway(n, "notify")`,
    `make_email_template`, `start_sink`, and `start_workers` when the backlog is queued."""

    def __init__(self, workdir: Path, sink_dir: Path, *, upstream_workers: int = 2) -> None:
        super().__init__(workdir, upstream_workers=upstream_workers)
        self.sink_dir = sink_dir
        self.smtp_port = 0
        self.receipt_credentials = f"sink:{secrets.token_urlsafe(24)}"
        self.notify_keyring = format_keyring([("bench", secrets.token_bytes(32))])
        self.workers: list[str] = []

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        """Every child's environment, with notify's email settings. They come last: `start_notify` makes an
        encryption keyring of its own, and the API and the workers must share one."""
        env = super()._env(extra)
        env.update(
            {
                "NOTIFY_ENCRYPTION_KEYS": self.notify_keyring,
                "NOTIFY_EMAIL_PROVIDER": EMAIL_PROVIDER,
                "NOTIFY_EMAIL_RECEIPT_CREDENTIALS": self.receipt_credentials,
                "NOTIFY_EMAIL_DOMAIN": EMAIL_DOMAIN,
            }
        )
        if self.smtp_port:
            env["NOTIFY_SMTP_URL"] = f"smtp://127.0.0.1:{self.smtp_port}"
        return env

    def start_sink(self, gateway: str) -> None:
        """The SMTP sink, posting its receipts (at once) through `gateway` as a provider would."""
        receipts = f"{self.url(gateway)}/notifications/email/{EMAIL_PROVIDER}"
        for _attempt in range(3):
            self.smtp_port = free_port()
            argv = [*GAAP[:2], "gaap.embedded.smtp_sink", "--host", "127.0.0.1", "--port", str(self.smtp_port)]
            argv += ["--maildir", str(self.sink_dir), "--receipt-url", receipts, "--receipt-delay", "0"]
            argv += ["--log-level", "WARNING"]
            env = self._env({RECEIPT_AUTH_ENV: self.receipt_credentials})
            child = self.children["sink"] = Child("sink", argv, env, self.workdir / "sink.log")
            if _wait_listening(child, self.smtp_port):
                return
            child.stop()
            del self.children["sink"]
        raise RuntimeError(f"the SMTP sink did not start:\n{child.log_tail()}")

    def start_workers(self, count: int) -> tuple[float, float]:
        """`count` notify workers (`gaap worker notify`, as production runs the role), started side by side;
        returns when they were started and when the last was ready (`time.monotonic()`)."""
        kid, master = parse_keyring(self.master_keys)[0]
        env = {
            "NOTIFY_DATABASE_URL": self.notify_db,
            "NOTIFY_PRINCIPAL_KEYS": format_keyring([(kid, derive_audience_key(master, "notify"))]),
        }
        started = time.monotonic()
        ready: list[tuple[Child, int]] = []
        for _ in range(count):
            name = f"notify-worker-{len(self.workers)}"
            port = self.ports[name] = free_port()
            argv = [*GAAP, "worker", "notify", "--probe-port", str(port)]
            self.children[name] = Child(name, argv, self._env(env), self.workdir / f"{name}.log")
            self.workers.append(name)
            ready.append((self.children[name], port))
        for child, port in ready:
            _wait_ready(child, f"http://127.0.0.1:{port}/readyz", timeout=60)
        return started, time.monotonic()


def _wait_listening(child: Child, port: int, timeout: float = 15.0) -> bool:
    """Until the child accepts TCP connections on `port`; False if it exited (a port taken meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# -- the sink's ledger -------------------------------------------------------------------------------------------


def accepted_count(sink_dir: Path) -> int:
    """Messages the sink has stored (its `accepted` counter, written at every message it stores)."""
    return int(sink_stats(sink_dir).get("accepted", 0))


def duplicate_count(sink_dir: Path) -> int:
    """Sends of a Message-ID the sink already held (it drops them and counts them; a relay would deliver them)."""
    return int(sink_stats(sink_dir).get("duplicates", 0))


def stored_message_ids(sink_dir: Path) -> list[str]:
    """The Message-ID of every message file in the sink's Maildir (one file per message stored)."""
    found: list[str] = []
    for path in iter_maildir_files(sink_dir):
        with path.open("rb") as fh:
            head = fh.read(8192)
        match = _MESSAGE_ID.search(head)
        if match:
            found.append(match.group(1).decode().strip().lower())
    return found


def first_stored_since(sink_dir: Path, wall: float) -> float | None:
    """When (`time.time()`) the sink stored its first message at or after `wall`: the file's modification time, so
    a message stored while the harness was busy elsewhere (waiting for a worker to be ready) still counts."""
    stamps = [stamp for path in iter_maildir_files(sink_dir) if (stamp := path.stat().st_mtime) >= wall]
    return min(stamps, default=None)


@dataclass(frozen=True)
class Ledger:
    """Emails that should have reached the sink against what it holds."""

    expected: int
    #: Notifications whose Message-ID the sink does not hold.
    lost: int
    #: Message-IDs held more than once, plus sends of one already held (the sink refused to store them again).
    duplicated: int
    #: Bench Message-IDs the sink holds that were not expected here.
    unexpected: int

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0


def compare(sink_dir: Path, expected: Iterable[str], refused_repeats: int, before: set[str]) -> Ledger:
    """`expected`: notification ids; `before`: the Message-IDs the sink held before the run (earlier runs')."""
    wanted = {f"{ident}@{EMAIL_DOMAIN}".lower() for ident in expected}
    held: dict[str, int] = {}
    for message_id in stored_message_ids(sink_dir):
        held[message_id] = held.get(message_id, 0) + 1
    copies = sum(n - 1 for n in held.values() if n > 1)
    unexpected = sum(1 for m in held if m not in wanted and m not in before and m.endswith(f"@{EMAIL_DOMAIN}"))
    return Ledger(
        expected=len(wanted),
        lost=sum(1 for m in wanted if m not in held),
        duplicated=copies + refused_repeats,
        unexpected=unexpected,
    )


# -- load --------------------------------------------------------------------------------------------------------


@dataclass
class Preloaded:
    """What the API answered while the backlog was queued."""

    ids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.ids) / self.seconds if self.seconds else 0.0


async def preload(topology: Topology, gateway: str, template_id: str, count: int) -> Preloaded:
    """`count` email sends through the gateway, `PRELOAD_CONCURRENCY` at a time, as fast as it answers them."""
    url = topology.url(gateway) + "/v2/notifications/email"
    done = Preloaded()
    next_index = iter(range(count))
    token = {"value": topology.notify_authorization(TOKEN_EVERY * 2), "at": time.monotonic()}

    def authorization() -> str:
        if time.monotonic() - token["at"] > TOKEN_EVERY:  # type: ignore[operator]
            token.update(value=topology.notify_authorization(TOKEN_EVERY * 2), at=time.monotonic())
        return str(token["value"])

    async def sender(session: aiohttp.ClientSession) -> None:
        for index in next_index:
            headers = {"Authorization": authorization(), "Content-Type": "application/json"}
            async with session.post(url, data=email_body(template_id, index), headers=headers) as answer:
                raw = await answer.read()
            if answer.status == 201:
                done.ids.append(orjson.loads(raw)["id"])
            elif len(done.failures) < 10:
                done.failures.append(f"{answer.status} {raw[:200]!r}")
            else:
                done.failures.append(str(answer.status))

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=PRELOAD_CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(sender(session) for _ in range(PRELOAD_CONCURRENCY)))
    done.seconds = time.monotonic() - started
    return done


def _sink_message(index: int) -> EmailMessage:
    """About the size of a bench email (plain text and HTML), to a recipient the sink sends no receipt for."""
    message = EmailMessage()
    message["From"] = f'"Bench service" <bench@{EMAIL_DOMAIN}>'
    message["To"] = f"{RECEIPT_DROP_LOCAL_PART}@example.gov.uk"
    message["Subject"] = "Your appointment on 1 December 2026"
    message["Message-ID"] = f"<sink-{index}-{uuid.uuid4()}@sink.bench.invalid>"
    message.set_content("Hello Ada\n\nYour appointment is on 1 December 2026 at Room 4.\n" * 6)
    message.add_alternative("<p>Hello Ada</p><p>Your appointment is on 1 December 2026.</p>" * 6, subtype="html")
    return message


async def blast_sink(port: int, count: int, sessions: int = 4) -> float:
    """`count` messages to the sink over `sessions` reused SMTP sessions, as fast as it takes them; returns the
    seconds it took. Messages are built first, so the timed part is the SMTP transactions."""
    messages = iter([_sink_message(i).as_bytes() for i in range(count)])
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) for _ in range(sessions)]
    for client in clients:
        await client.connect()

    async def run(client: aiosmtplib.SMTP) -> None:
        for raw in messages:
            await client.sendmail(f"bench@{EMAIL_DOMAIN}", [f"{RECEIPT_DROP_LOCAL_PART}@example.gov.uk"], raw)

    started = time.monotonic()
    try:
        await asyncio.gather(*(run(client) for client in clients))
        return time.monotonic() - started
    finally:
        for client in clients:
            await client.quit()
