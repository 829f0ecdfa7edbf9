"""What the delivery doubles received, on disk: the one place that knows their formats.

The SMTP sink (`gaap.embedded.smtp_sink`) writes a Maildir plus a small JSON stats file; the fake SMS
provider (`gaap.embedded.fake_sms`) writes a SQLite database in WAL mode. Both live in directories, not in
process memory, so notify's developer inbox, the console and tests in other processes read them with the
functions here while the doubles run (and after they restart).

`SmsStore` is here too, writer included, so the SMS schema exists once: the fake provider writes through it
and the readers below read through it.
"""

from __future__ import annotations

import contextlib
import email
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

SINK_STATS_FILE = "gaap-sink-stats.json"
SINK_FAULT_FILE = "gaap-sink-fault.json"
ENVELOPE_FROM_HEADER = "X-GaaP-Envelope-From"
ENVELOPE_TO_HEADER = "X-GaaP-Envelope-To"
RECEIVED_AT_HEADER = "X-GaaP-Received-At"
SMS_DB_FILE = "fake-sms.sqlite3"
_SINK_COUNTERS = ("accepted", "duplicates", "temporary_failures", "permanent_failures")


@dataclass(frozen=True)
class EmailSummary:
    """One stored email as the developer inbox shows it. `headers` keeps every header, in order."""

    key: str
    message_id: str | None
    sender: str
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    received_at: datetime
    envelope_from: str
    envelope_to: tuple[str, ...]
    text_body: str | None
    html_body: str | None
    attachments: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), e.g. `List-Unsubscribe`."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


def normalise_message_id(value: object) -> str | None:
    """`<abc@host>` and ` abc@host ` are one id; None for a missing or empty header."""
    text = str(value).strip().strip("<>").strip() if value is not None else ""
    return text or None


def iter_maildir_files(maildir: Path | str) -> Iterator[Path]:
    """Every delivered message file (`new/` and `cur/`), in no particular order."""
    for sub in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError), os.scandir(Path(maildir) / sub) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    yield Path(entry.path)


def _addresses(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(addr for _name, addr in getaddresses(list(values)) if addr)


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, KeyError, ValueError):  # unknown charset or broken encoding: show what we can
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def _summary(path: Path) -> EmailSummary:
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    received_raw = msg.get(RECEIVED_AT_HEADER)
    try:
        received_at = datetime.fromisoformat(str(received_raw))
    except ValueError:
        received_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    try:
        date = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        date = None
    return EmailSummary(
        key=path.name.split(":", 1)[0],
        message_id=normalise_message_id(msg.get("Message-ID")),
        sender=str(msg.get("From", "")),
        to=_addresses([str(v) for v in msg.get_all("To", [])]),
        subject=str(msg.get("Subject", "")),
        date=date,
        received_at=received_at,
        envelope_from=str(msg.get(ENVELOPE_FROM_HEADER, "")),
        envelope_to=_addresses([str(v) for v in msg.get_all(ENVELOPE_TO_HEADER, [])]),
        text_body=_body(msg, "plain"),
        html_body=_body(msg, "html"),
        attachments=tuple(str(part.get_filename() or "") for part in msg.iter_attachments()),
        headers=tuple((key, str(value)) for key, value in msg.items()),
    )


def list_emails(maildir: Path | str, *, limit: int = 50, to: str | None = None) -> list[EmailSummary]:
    """Newest first (by delivery into the Maildir); `to` keeps messages with that envelope or `To:` recipient.

    Only the files returned (or examined for `to`) are parsed, so a large Maildir stays cheap to page.
    """
    files = []
    for path in iter_maildir_files(maildir):
        with contextlib.suppress(FileNotFoundError):
            files.append((path.stat().st_mtime_ns, path.name, path))
    files.sort(reverse=True)
    wanted = to.strip().lower() if to else None
    found: list[EmailSummary] = []
    for _mtime, _name, path in files:
        if len(found) >= limit:
            break
        try:
            summary = _summary(path)
        except FileNotFoundError:  # moved or deleted by another reader meanwhile
            continue
        if wanted and wanted not in {a.lower() for a in (*summary.envelope_to, *summary.to)}:
            continue
        found.append(summary)
    return found


def get_email(maildir: Path | str, message_id: str) -> EmailSummary | None:
    """The stored message with this Message-ID (angle brackets optional), if any."""
    wanted = normalise_message_id(message_id)
    parser = BytesHeaderParser()
    for path in iter_maildir_files(maildir):
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as fh:
            if normalise_message_id(parser.parse(fh).get("Message-ID")) == wanted:
                return _summary(path)
    return None


def sink_stats(maildir: Path | str) -> dict[str, Any]:
    """The sink's counters (`accepted`, `duplicates`, `temporary_failures`, `permanent_failures`)."""
    stats: dict[str, Any] = dict.fromkeys(_SINK_COUNTERS, 0)
    with contextlib.suppress(FileNotFoundError, ValueError):
        loaded = json.loads((Path(maildir) / SINK_STATS_FILE).read_text())
        if isinstance(loaded, dict):
            stats.update(loaded)
    return stats


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    recipient TEXT NOT NULL,
    normalised_to TEXT NOT NULL,
    sender TEXT,
    content TEXT NOT NULL,
    receipt_url TEXT,
    status TEXT NOT NULL,          -- 'accepted', then the last status a receipt reported
    receipt_state TEXT NOT NULL,   -- 'due', 'sent', 'failed', 'dropped' (drop_receipts) or 'none' (no URL)
    receipt_due_at REAL,           -- unix time
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (provider, reference)
);
CREATE INDEX IF NOT EXISTS messages_receipts_due ON messages (receipt_state, receipt_due_at);
CREATE TABLE IF NOT EXISTS counters (
    provider TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (provider, kind)
);
CREATE TABLE IF NOT EXISTS controls (provider TEXT PRIMARY KEY, settings TEXT NOT NULL);
"""
SMS_COUNTERS = ("accepted", "duplicates", "errors", "receipts_sent", "receipt_failures", "inbound")


def normalise_number(number: str) -> str:
    """Digits in international form, so `07700 900123`, `+447700900123` and `447700900123` compare equal."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return "44" + digits[1:]
    return digits


def utc_now_iso() -> str:
    """Now, as the ISO 8601 UTC timestamp (`...Z`) every record and payload of the SMS fake uses."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TextMessage:
    """One text a fake provider accepted, and how far its receipt got."""

    id: str
    provider: str
    reference: str
    to: str
    sender: str | None
    content: str
    receipt_url: str | None
    status: str
    receipt_state: str
    receipt_due_at: float | None
    created_at: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "id, provider, reference, recipient, sender, content, receipt_url, status, receipt_state, receipt_due_at,"
    " created_at, updated_at"
)


class SmsStore:
    """The fake SMS provider's state in SQLite (WAL): messages, counters and per-provider fault controls.

    Uniqueness of (provider, reference) is a table constraint, so a duplicate is refused even when two
    processes share the store. Each write is one short `BEGIN IMMEDIATE` transaction.
    """

    def __init__(self, store_dir: Path | str) -> None:
        path = Path(store_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path / SMS_DB_FILE, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @staticmethod
    def _bump(conn: sqlite3.Connection, provider: str, kind: str) -> None:
        conn.execute(
            "INSERT INTO counters (provider, kind, n) VALUES (?, ?, 1)"
            " ON CONFLICT (provider, kind) DO UPDATE SET n = n + 1",
            (provider, kind),
        )

    def count(self, provider: str, kind: str) -> None:
        with self._tx() as conn:
            self._bump(conn, provider, kind)

    def _row(self, where: str, args: Sequence[object]) -> TextMessage | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE {where}", args).fetchone()  # noqa: S608
        return _text(row) if row else None

    def accept(
        self,
        *,
        provider: str,
        reference: str,
        to: str,
        content: str,
        sender: str | None,
        receipt_url: str | None,
        receipt_state: str,
        receipt_due_at: float | None,
    ) -> tuple[TextMessage, bool]:
        """Store a new message, or count a duplicate reference: (the stored message, whether it is new)."""
        now = utc_now_iso()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO messages (id, provider, reference, recipient, normalised_to, sender, content,"
                " receipt_url, status, receipt_state, receipt_due_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?)"
                " ON CONFLICT (provider, reference) DO NOTHING",
                (
                    *(str(uuid.uuid4()), provider, reference, to, normalise_number(to), sender, content),
                    *(receipt_url, receipt_state, receipt_due_at, now, now),
                ),
            )
            created = cur.rowcount == 1
            self._bump(conn, provider, "accepted" if created else "duplicates")
        stored = self._row("provider = ? AND reference = ?", (provider, reference))
        assert stored is not None
        return stored, created

    def record_receipt(self, message_id: str, *, status: str | None, receipt_state: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET status = coalesce(?, status), receipt_state = ?, updated_at = ? WHERE id = ?",
                (status, receipt_state, utc_now_iso(), message_id),
            )

    def due_receipts(self) -> list[TextMessage]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE receipt_state = 'due' ORDER BY receipt_due_at"  # noqa: S608
        ).fetchall()
        return [_text(row) for row in rows]

    def list_messages(
        self, *, provider: str | None = None, to: str | None = None, limit: int = 50
    ) -> list[TextMessage]:
        clauses, args = ["1 = 1"], []
        if provider:
            clauses.append("provider = ?")
            args.append(provider)
        if to:
            clauses.append("normalised_to = ?")
            args.append(normalise_number(to))
        sql = f"SELECT {_COLUMNS} FROM messages WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?"  # noqa: S608
        return [_text(row) for row in self.conn.execute(sql, [*args, limit]).fetchall()]

    def stats(self, providers: Sequence[str] = ()) -> dict[str, dict[str, int]]:
        """{kind: {provider: n}} for every counter kind, with zeros for the named providers."""
        out = {kind: dict.fromkeys(providers, 0) for kind in SMS_COUNTERS}
        for row in self.conn.execute("SELECT provider, kind, n FROM counters"):
            out.setdefault(row["kind"], {})[row["provider"]] = row["n"]
        return out

    def get_control(self, provider: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT settings FROM controls WHERE provider = ?", (provider,)).fetchone()
        return dict(json.loads(row["settings"])) if row else {}

    def set_control(self, provider: str, settings: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO controls (provider, settings) VALUES (?, ?)"
                " ON CONFLICT (provider) DO UPDATE SET settings = excluded.settings",
                (provider, json.dumps(settings)),
            )

    def reset(self, *, clear_messages: bool = False) -> None:
        """Every provider back to `ok`; optionally forget all messages and counters too."""
        with self._tx() as conn:
            conn.execute("DELETE FROM controls")
            if clear_messages:
                conn.execute("DELETE FROM messages")
                conn.execute("DELETE FROM counters")


def _text(row: sqlite3.Row) -> TextMessage:
    return TextMessage(
        id=row["id"],
        provider=row["provider"],
        reference=row["reference"],
        to=row["recipient"],
        sender=row["sender"],
        content=row["content"],
        receipt_url=row["receipt_url"],
        status=row["status"],
        receipt_state=row["receipt_state"],
        receipt_due_at=row["receipt_due_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def list_texts(
    store_dir: Path | str, *, provider: str | None = None, to: str | None = None, limit: int = 50
) -> list[TextMessage]:
    """Texts the fake SMS provider accepted, newest first; `to` matches any spelling of the number."""
    store = SmsStore(store_dir)
    try:
        return store.list_messages(provider=provider, to=to, limit=limit)
    finally:
        store.close()


def sms_stats(store_dir: Path | str, providers: Sequence[str] = ()) -> dict[str, dict[str, int]]:
    """The fake SMS provider's counters: {"accepted": {"mmg": n, ...}, "duplicates": {...}, ...}."""
    store = SmsStore(store_dir)
    try:
        return store.stats(providers)
    finally:
        store.close()
