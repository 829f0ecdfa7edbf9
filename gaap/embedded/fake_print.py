"""A fake print provider: takes batches of letters with their PDFs and reports on them, for development and tests.

Notify's letter collation talks to it over real HTTP as it would to a print contractor
(`services.notify.delivery.print_api`), so batching, de-duplication and the reports are exercised without one.
Credentials are `print` / `print-dev-password` unless configured; the same pair signs its reports.

- `POST /batches`, HTTP Basic auth, `{"batch_id", "letters": [{"reference", "postage", "address", "pages",
  "pdf"}]}` (the PDF base64): 200 `{"batch_id", "letters": [{"reference", "result", "message"}]}`, each letter
  `accepted`, `duplicate` (a reference it already holds: not stored again, counted so a test can prove nothing
  was sent twice) or `refused` (not a PDF). 401 for wrong credentials; 400 for a body that is not a batch.
- `POST /letters/lookup` `{"references": [...]}`: `{"held": [...]}`, the references it holds.
- reports, `report_delay_seconds` after a batch, POSTed with its Basic credentials to `--report-url`:
  `{"reference", "status": "printed" | "rejected", "batch_id", "timestamp", "reason"}`, retried with doubling
  waits for about a minute (a report may overtake the worker recording the hand-over, and is answered 409 until
  it is recorded). `POST /letters/{reference}/return` (no auth: it plays the Royal Mail returning the letter)
  posts `{"reference", "status": "returned", ...}` at once and answers with the webhook's status code.
- faults: `PUT /control` `{"mode": "ok"|"error"|"slow"|"reject", "delay_seconds", "error_status",
  "report_delay_seconds"}` (omitted fields take their defaults), `GET /control`, `POST /control/reset`
  (`{"clear_letters": true}` also forgets every letter and counter). `error` answers `error_status` (default
  500) and stores nothing; `slow` stores the batch, then waits `delay_seconds` before answering (a caller that
  stops waiting has still had its letters taken); `reject` accepts, then reports every letter `rejected`.

`GET /letters?limit=` lists letters newest first (without their PDFs), `GET /letters/{reference}/pdf` gives one
PDF and `GET /stats` the counters. State lives in SQLite under the store directory: it survives restarts, and
reports still due are resumed at start-up. Run: `python -m gaap.embedded.fake_print --port 8027 --store
var/print --report-url http://127.0.0.1:8000/notifications/letter/print`; credentials from `--auth USER:PASSWORD`
or, kept off the command line, `FAKE_PRINT_AUTH=USER:PASSWORD` (what `gaap up` uses).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import json
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gaap import logging as gaap_logging
from gaap.embedded.fake_sms import Refused, _bad_request, _json_object, _render_refusal
from gaap.embedded.inbox import utc_now_iso

log = structlog.get_logger("gaap.embedded.fake_print")

PROVIDER = "print"
MODES = ("ok", "error", "slow", "reject")
COUNTERS = ("batches", "accepted", "duplicates", "refused", "errors", "lookups", "reports_sent", "report_failures")
AUTH_ENV = "FAKE_PRINT_AUTH"
_MAX_DELAY = 600.0
_MAX_LETTERS = 1000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS letters (
    reference TEXT PRIMARY KEY, batch_id TEXT NOT NULL, postage TEXT, address TEXT NOT NULL, pages INTEGER,
    pdf BLOB NOT NULL, outcome TEXT NOT NULL, status TEXT NOT NULL, report_state TEXT NOT NULL,
    report_due_at REAL NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS control (id INTEGER PRIMARY KEY CHECK (id = 1), settings TEXT NOT NULL);
"""


def default_credentials() -> tuple[str, str]:
    return PROVIDER, f"{PROVIDER}-dev-password"


def _validated_control(body: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"mode", "delay_seconds", "error_status", "report_delay_seconds"}
    if unknown := set(body) - allowed:
        raise _bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
    if body.get("mode", "ok") not in MODES:
        raise _bad_request(f"mode must be one of {', '.join(MODES)}")
    for name in ("delay_seconds", "report_delay_seconds"):
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _MAX_DELAY:
            raise _bad_request(f"{name} must be a number of seconds between 0 and {_MAX_DELAY:g}")
    status = body.get("error_status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise _bad_request("error_status must be an HTTP status from 400 to 599")
    return dict(body)


def _letter(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad_request("each letter must be an object")
    reference, pdf = item.get("reference"), item.get("pdf")
    if not isinstance(reference, str) or not reference.strip() or not isinstance(pdf, str):
        raise _bad_request("each letter needs a reference and a base64 pdf")
    address = item.get("address")
    if not isinstance(address, list) or not all(isinstance(line, str) for line in address):
        raise _bad_request("address must be a list of lines")
    return item


class FakePrintProvider:
    """The behaviour behind the routes: auth, faults, de-duplication and reports."""

    def __init__(
        self,
        store_dir: Path,
        *,
        credentials: tuple[str, str] | None = None,
        report_url: str | None = None,
        report_delay_seconds: float = 1.0,
        report_attempts: int = 8,
        report_retry_seconds: float = 0.5,
    ) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(store_dir / "print.sqlite3", isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(_SCHEMA)
        self.credentials = credentials or default_credentials()
        self.report_url = report_url
        self.report_delay_seconds = report_delay_seconds
        self.report_attempts = max(1, report_attempts)
        self.report_retry_seconds = report_retry_seconds
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- state --------------------------------------------------------------------------------------------

    def count(self, name: str, by: int = 1) -> None:
        self.conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )

    def control(self) -> dict[str, Any]:
        row = self.conn.execute("SELECT settings FROM control WHERE id = 1").fetchone()
        defaults = {"mode": "ok", "delay_seconds": 0.0, "error_status": 500}
        return {**defaults, "report_delay_seconds": self.report_delay_seconds, **json.loads(row[0] if row else "{}")}

    def stats(self) -> dict[str, int]:
        found = dict(self.conn.execute("SELECT name, value FROM counters").fetchall())
        return {name: int(found.get(name, 0)) for name in COUNTERS}

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Resume the reports that were due when the last process stopped."""
        for row in self.conn.execute("SELECT reference FROM letters WHERE report_state = 'due'").fetchall():
            self._schedule_report(row["reference"])

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        self.conn.close()

    def authorised(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True) if scheme.lower() == "basic" else b""
        except (binascii.Error, ValueError):
            return False
        return bool(given) and hmac.compare_digest(given, ":".join(self.credentials).encode())

    # --- reports ------------------------------------------------------------------------------------------

    async def _post_report(self, payload: dict[str, Any]) -> int | None:
        """POST a report, retrying connection errors and non-2xx answers: the last status code, None if unreachable."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        status: int | None = None
        for attempt in range(self.report_attempts):
            if attempt:
                await asyncio.sleep(self.report_retry_seconds * 2 ** (attempt - 1))
            try:
                response = await self._client.post(str(self.report_url), json=payload, auth=self.credentials)
                status = response.status_code
            except httpx.HTTPError as exc:
                log.info("fake_print.report_failed", attempt=attempt + 1, error=repr(exc))
                continue
            if 200 <= status < 300:
                break
        self.count("reports_sent" if status is not None and 200 <= status < 300 else "report_failures")
        return status

    def _report(self, row: sqlite3.Row, status: str, reason: str | None = None) -> dict[str, Any]:
        return {
            "reference": row["reference"],
            "status": status,
            "batch_id": row["batch_id"],
            "timestamp": utc_now_iso(),
            "reason": reason,
        }

    def _schedule_report(self, reference: str) -> None:
        task = asyncio.get_running_loop().create_task(self._send_report(reference))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_report(self, reference: str) -> None:
        row = self.conn.execute("SELECT * FROM letters WHERE reference = ?", (reference,)).fetchone()
        await asyncio.sleep(max(0.0, row["report_due_at"] - time.time()))
        reason = "Address could not be read by the printer" if row["outcome"] == "rejected" else None
        code = await self._post_report(self._report(row, row["outcome"], reason))
        ok = code is not None and 200 <= code < 300
        self.conn.execute(
            "UPDATE letters SET report_state = ?, status = ? WHERE reference = ?",
            ("sent" if ok else "failed", row["outcome"] if ok else row["status"], reference),
        )

    async def wait_for_reports(self) -> None:
        """Wait until every scheduled report has been sent or given up (for tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- routes -------------------------------------------------------------------------------------------

    async def batches(self, request: Request) -> JSONResponse:
        """Take a batch of letters, unless told to fail; each reference is stored once."""
        if not self.authorised(request):
            raise Refused(401, "unauthorised", "wrong or missing Basic credentials")
        control = self.control()
        if control["mode"] == "error":
            self.count("errors")
            raise Refused(int(control["error_status"]), "injected_error", "the print provider is failing (injected)")
        body = await _json_object(request)
        letters = body.get("letters")
        if not isinstance(body.get("batch_id"), str) or not isinstance(letters, list) or not letters:
            raise _bad_request("a batch needs a batch_id and a non-empty list of letters")
        if len(letters) > _MAX_LETTERS:
            raise _bad_request(f"at most {_MAX_LETTERS} letters a batch")
        batch_id, items = str(body["batch_id"]), [_letter(item) for item in letters]
        outcome = "rejected" if control["mode"] == "reject" else "printed"
        due = time.time() + float(control["report_delay_seconds"])
        results, scheduled = [], []
        for item in items:
            result, message = self._store(batch_id, item, outcome, due)
            results.append({"reference": item["reference"], "result": result, "message": message})
            if result == "accepted":
                scheduled.append(item["reference"])
        self.count("batches")
        if self.report_url:
            for reference in scheduled:
                self._schedule_report(reference)
        if control["mode"] == "slow":  # stored: a caller that stops waiting has still had its letters taken
            await asyncio.sleep(float(control["delay_seconds"]))
        return JSONResponse({"batch_id": batch_id, "letters": results})

    def _store(self, batch_id: str, item: dict[str, Any], outcome: str, due: float) -> tuple[str, str | None]:
        try:
            pdf = base64.b64decode(item["pdf"], validate=True)
        except (binascii.Error, ValueError):
            pdf = b""
        if not pdf.startswith(b"%PDF-"):
            self.count("refused")
            return "refused", "the file is not a PDF"
        seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM letters").fetchone()[0]
        stored = self.conn.execute(
            "INSERT INTO letters (reference, batch_id, postage, address, pages, pdf, outcome, status, report_state,"
            " report_due_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                item["reference"],
                batch_id,
                item.get("postage"),
                json.dumps(item["address"]),
                item.get("pages"),
                pdf,
                outcome,
                "due" if self.report_url else "none",
                due,
                seq,
            ),
        ).rowcount
        if not stored:
            self.count("duplicates")
            log.info("fake_print.duplicate", reference=item["reference"], batch_id=batch_id)
            return "duplicate", "already held"
        self.count("accepted")
        return "accepted", None

    async def lookup(self, request: Request) -> JSONResponse:
        """Which of the given references this provider holds."""
        if not self.authorised(request):
            raise Refused(401, "unauthorised", "wrong or missing Basic credentials")
        references = (await _json_object(request)).get("references")
        if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
            raise _bad_request("references must be a list of strings")
        self.count("lookups")
        held = [
            reference
            for reference in dict.fromkeys(references)
            if self.conn.execute("SELECT 1 FROM letters WHERE reference = ?", (reference,)).fetchone()
        ]
        return JSONResponse({"held": held})

    def _held(self, request: Request) -> sqlite3.Row:
        reference = str(request.path_params["reference"])
        row = self.conn.execute("SELECT * FROM letters WHERE reference = ?", (reference,)).fetchone()
        if row is None:
            raise Refused(404, "not_found", f"no letter {reference!r}")
        return row

    async def return_letter(self, request: Request) -> JSONResponse:
        """Royal Mail returns a letter: report it as returned now."""
        row = self._held(request)
        if not self.report_url:
            raise Refused(409, "no_report_url", "start the fake with --report-url to send reports")
        code = await self._post_report(self._report(row, "returned", "Addressee gone away"))
        if code is None or not 200 <= code < 300:
            raise Refused(502, "report_failed", "the webhook did not accept the report", status_code=code)
        self.conn.execute("UPDATE letters SET status = 'returned' WHERE reference = ?", (row["reference"],))
        return JSONResponse({"reference": row["reference"], "status": "returned", "status_code": code})

    async def pdf(self, request: Request) -> Response:
        return Response(bytes(self._held(request)["pdf"]), media_type="application/pdf")

    async def letters(self, request: Request) -> JSONResponse:
        try:
            limit = min(max(int(request.query_params.get("limit", 50)), 1), 1000)
        except ValueError as exc:
            raise _bad_request("limit must be an integer") from exc
        rows = self.conn.execute(
            "SELECT reference, batch_id, postage, address, pages, status FROM letters ORDER BY seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return JSONResponse({"letters": [{**dict(r), "address": json.loads(r["address"])} for r in rows]})

    async def get_stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats())

    async def get_control(self, request: Request) -> JSONResponse:
        return JSONResponse(self.control())

    async def put_control(self, request: Request) -> JSONResponse:
        """Replace the fault settings (omitted fields go back to their defaults)."""
        settings = _validated_control(await _json_object(request))
        self.conn.execute(
            "INSERT INTO control (id, settings) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET settings = ?",
            (json.dumps(settings), json.dumps(settings)),
        )
        log.info("fake_print.control", **settings)
        return JSONResponse(self.control())

    async def reset(self, request: Request) -> JSONResponse:
        """Back to `ok`; `{"clear_letters": true}` also forgets every letter and counter."""
        body = await _json_object(request) if await request.body() else {}
        self.conn.execute("DELETE FROM control")
        if body.get("clear_letters"):
            self.conn.execute("DELETE FROM letters")
            self.conn.execute("DELETE FROM counters")
        return JSONResponse(self.control())


def create_fake_print_app(store_dir: Path, **options: Any) -> Starlette:
    """The ASGI app; `options` go to `FakePrintProvider` (credentials, report URL and timing)."""
    fake = FakePrintProvider(Path(store_dir), **options)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await fake.startup()
        try:
            yield
        finally:
            await fake.shutdown()

    app = Starlette(
        routes=[
            Route("/batches", fake.batches, methods=["POST"]),
            Route("/letters", fake.letters, methods=["GET"]),
            Route("/letters/lookup", fake.lookup, methods=["POST"]),
            Route("/letters/{reference}/pdf", fake.pdf, methods=["GET"]),
            Route("/letters/{reference}/return", fake.return_letter, methods=["POST"]),
            Route("/stats", fake.get_stats, methods=["GET"]),
            Route("/control", fake.get_control, methods=["GET"]),
            Route("/control", fake.put_control, methods=["PUT"]),
            Route("/control/reset", fake.reset, methods=["POST"]),
        ],
        exception_handlers={Refused: _render_refusal},
        lifespan=lifespan,
    )
    app.state.fake = fake
    return app


def _credential(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError("use USER:PASSWORD")
    return user, password


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gaap.embedded.fake_print", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8027)
    parser.add_argument("--store", type=Path, required=True, help="directory for the SQLite state (created)")
    parser.add_argument("--auth", type=_credential, help="USER:PASSWORD (else $FAKE_PRINT_AUTH, else the default)")
    parser.add_argument("--report-url", help="notify's report webhook, /notifications/letter/<provider>")
    parser.add_argument("--report-delay", type=float, default=1.0, help="seconds from a batch to its reports")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    gaap_logging.configure("fake-print", level=args.log_level)
    credentials = args.auth
    if credentials is None and os.environ.get(AUTH_ENV):
        try:
            credentials = _credential(os.environ[AUTH_ENV])
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{AUTH_ENV}: {exc}")
    app = create_fake_print_app(
        args.store, credentials=credentials, report_url=args.report_url, report_delay_seconds=args.report_delay
    )
    import uvicorn  # only the command line needs the server

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
