"""The service's own records, in SQLite: signed-in sessions and reports. A department keeps its own data; the
platform holds only what it needs to sign people in, take payments and send messages."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT UNIQUE,
    owner TEXT NOT NULL,
    email TEXT NOT NULL,
    mobile TEXT,
    problem TEXT NOT NULL,
    location TEXT NOT NULL,
    details TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_id TEXT,
    paid INTEGER NOT NULL DEFAULT 0,
    messages TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL
);
"""
SESSION_SECONDS = 3600


@dataclass
class Report:
    id: int
    reference: str
    owner: str
    email: str
    mobile: str | None
    problem: str
    location: str
    details: str
    status: str
    payment_id: str | None
    paid: bool
    messages: list[str]


class Store:
    """One SQLite file; the standard library's driver, one connection guarded by a lock (a small service)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)

    # sessions: a random id in the cookie, the data here (nothing to forge or to leak from the cookie)
    def new_session(self, data: dict[str, Any]) -> str:
        ident = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (ident, json.dumps(data), time.time()))
        return ident

    def session(self, ident: str | None) -> dict[str, Any] | None:
        if not ident:
            return None
        with self._lock:
            row = self._db.execute("SELECT data, created FROM sessions WHERE id = ?", (ident,)).fetchone()
        if row is None or time.time() - row["created"] > SESSION_SECONDS:
            return None
        data: dict[str, Any] = json.loads(row["data"])
        return data

    def save_session(self, ident: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE sessions SET data = ? WHERE id = ?", (json.dumps(data), ident))

    def end_session(self, ident: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE id = ?", (ident,))

    # reports
    def add_report(self, **values: Any) -> Report:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO reports (owner, email, mobile, problem, location, details, status, created)"
                " VALUES (:owner, :email, :mobile, :problem, :location, :details, :status, :created)",
                {**values, "created": time.time()},
            )
            ident = int(cursor.lastrowid or 0)
            self._db.execute("UPDATE reports SET reference = ? WHERE id = ?", (f"RAP-{ident:05d}", ident))
        report = self.report(ident)
        assert report is not None
        return report

    def report(self, ident: int) -> Report | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM reports WHERE id = ?", (ident,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values.pop("created")
        values["paid"] = bool(values["paid"])
        values["messages"] = json.loads(values["messages"])
        return Report(**values)

    def update(self, ident: int, **values: Any) -> None:
        if "messages" in values:
            values["messages"] = json.dumps(values["messages"])
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        with self._lock:
            self._db.execute(f"UPDATE reports SET {assignments} WHERE id = :id", {**values, "id": ident})  # noqa: S608
