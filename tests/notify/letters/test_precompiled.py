"""Precompiled letters (notify spec §5.5) and letter PDFs (§6.3) through the official client and the rig (real
notify behind a real gateway, PostgreSQL, Redis), scanned by real ClamAV.

ClamAV has no signatures offline, so the scans use `eicar.ndb`, a one-signature database made for these tests
that matches the EICAR test string. The test string itself is built from that file's hex, so no source file
here trips a developer's own antivirus.
"""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import update

from gaap.db import Database, utcnow
from gaap.jobs import JobQueue, serve
from gaap.settings import ConfigurationError, PlatformSettings
from services.notify.letters import service as letters
from services.notify.letters.scanning import (
    ClamAvScanner,
    NoScanner,
    ScannerError,
    ScannerSettings,
    build_scanner,
)
from services.notify.letters.storage import letter_store
from services.notify.notifications.models import Notification
from services.notify.rendering.letters import render_letter_pdf, validate_precompiled
from services.notify.worker import DeliverySettings, worker_spec
from tests.notify.conftest import NotifyRig, notify_settings

SIGNATURES = Path(__file__).with_name("eicar.ndb")
EICAR = bytes.fromhex(SIGNATURES.read_text().strip().rsplit(":", 1)[1])
ADDRESS = ["Ada Lovelace", "1 High Street", "London", "SW1A 1AA"]

#: `make system-test-deps` installs ClamAV; without it only the scans are skipped.
needs_clamscan = pytest.mark.skipif(shutil.which("clamscan") is None, reason="ClamAV (clamscan) is not installed")


def letter(address: list[str] | None = None) -> bytes:
    return render_letter_pdf(
        content="Dear Ada,\n\nYour licence is enclosed.",
        subject="Your licence",
        personalisation={},
        address_lines=address or ADDRESS,
        postage="second",
        letter_date=date(2024, 5, 17),
    )


def pages(count: int) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for number in range(count):
        canvas.drawString(100, 400, f"Page {number + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def client(rig: NotifyRig, key: str = "live") -> NotificationsAPIClient:
    return NotificationsAPIClient(rig.keys[key], base_url=rig.url)


async def send(rig: NotifyRig, pdf: bytes, *, key: str = "live", postage: str | None = None) -> dict[str, Any]:
    api = client(rig, key)
    reference = f"ref-{uuid.uuid4().hex[:8]}"
    sent: dict[str, Any] = await asyncio.to_thread(
        api.send_precompiled_letter_notification, reference, io.BytesIO(pdf), postage
    )
    assert sent == {"id": sent["id"], "reference": reference, "postage": postage or "second"}
    return sent


def refused(call: Callable[[], Any]) -> tuple[int, list[dict[str, Any]]]:
    with pytest.raises(HTTPError) as raised:
        call()
    return raised.value.status_code, raised.value.message


@pytest.fixture
async def db(notify_rig: NotifyRig) -> AsyncIterator[Database]:
    database = Database(notify_rig.notify_db, pool_size=2)
    yield database
    await database.dispose()


@pytest.fixture
async def ctx(db: Database, notify_rig: NotifyRig) -> AsyncIterator[dict[str, Any]]:
    """What the worker hands `check_precompiled`, for calling it directly."""
    jobs = JobQueue.from_url(notify_rig.redis_url, "notify")
    yield {"db": db, "jobs": jobs, letters.SCANNER: ClamAvScanner(database=str(SIGNATURES))}
    await jobs.close()


async def row_of(db: Database, ident: str) -> Notification:
    async with db.read_session() as session:
        row = await session.get(Notification, uuid.UUID(ident))
        assert row is not None
        session.expunge(row)
        return row


async def stored_pdf(db: Database, ident: str) -> bytes | None:
    async with db.read_session() as session:
        return await letter_store(session).get(uuid.UUID(ident))


@asynccontextmanager
async def running_worker(rig: NotifyRig, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setenv("NOTIFY_CLAMAV_DATABASE", str(SIGNATURES))
    spec = worker_spec(notify_settings(rig.notify_db, rig.redis_url, "http://127.0.0.1"), DeliverySettings())
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(spec, stop=stop, handle_signals=False))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(worker, 15)


async def eventually(check: Callable[[], Any], within: float = 20) -> Any:
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110  (state in the database, changed by the worker)
            await asyncio.sleep(0.05)
    return result


# --- The whole path ------------------------------------------------------------------------------------------


@needs_clamscan
async def test_a_clean_letter_is_scanned_validated_and_served(
    notify_rig: NotifyRig, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = client(notify_rig)
    pdf = letter()
    sent = await send(notify_rig, pdf)

    pending = await asyncio.to_thread(api.get_notification_by_id, sent["id"])
    assert (pending["status"], pending["type"], pending["line_1"]) == (
        "pending-virus-check",
        "letter",
        "Provided as PDF",
    )
    assert pending["is_cost_data_ready"] is False
    assert pending["template"]["id"] == str(letters.precompiled_template_id(notify_rig.service_id))
    assert refused(lambda: api.get_pdf_for_letter(sent["id"])) == (
        400,
        [{"error": "PDFNotReadyError", "message": "PDF not available yet, try again later"}],
    )

    async with running_worker(notify_rig, monkeypatch):  # the API queued the check after its commit

        async def checked() -> bool:
            return (await row_of(db, sent["id"])).status != "pending-virus-check"

        await eventually(checked)

    got = await asyncio.to_thread(api.get_notification_by_id, sent["id"])
    assert got["status"] == "accepted"
    assert [got[f"line_{n}"] for n in range(1, 7)] == [*ADDRESS[:3], None, None, None]
    assert (got["postcode"], got["postage"], got["reference"]) == ("SW1A 1AA", "second", sent["reference"])
    assert got["cost_details"] == {"billable_sheets_of_paper": 1, "postage": "second"}
    row = await row_of(db, sent["id"])
    assert (row.status, row.to, row.billable_units, row.attempt) == ("created", "\n".join(ADDRESS), 1, 1)
    served = await asyncio.to_thread(api.get_pdf_for_letter, sent["id"])
    assert served.read() == pdf
    templates = await asyncio.to_thread(api.get_all_templates, "letter")
    assert letters.PRECOMPILED_TEMPLATE_NAME not in {t["name"] for t in templates["templates"]}


@needs_clamscan
async def test_test_keys_and_first_class_postage(notify_rig: NotifyRig, db: Database, ctx: dict[str, Any]) -> None:
    sent = await send(notify_rig, letter(), key="test", postage="first")
    await letters.check_precompiled(ctx, sent["id"])
    row = await row_of(db, sent["id"])
    assert (row.status, row.postage, row.key_type) == ("created", "first", "test")
    assert row.personalisation["postcode"] == "SW1A 1AA"


@needs_clamscan
async def test_a_job_delivered_twice_has_one_effect(notify_rig: NotifyRig, db: Database, ctx: dict[str, Any]) -> None:
    sent = await send(notify_rig, letter())
    await asyncio.gather(*(letters.check_precompiled(ctx, sent["id"]) for _ in range(4)))
    first = await row_of(db, sent["id"])
    await letters.check_precompiled(ctx, sent["id"])
    again = await row_of(db, sent["id"])
    assert (first.status, first.attempt) == ("created", 1)
    assert (again.status, again.attempt, again.updated_at) == ("created", 1, first.updated_at)


# --- Scan and validation failures ----------------------------------------------------------------------------


@needs_clamscan
async def test_an_infected_file_fails_its_scan_and_is_not_kept(
    notify_rig: NotifyRig, db: Database, ctx: dict[str, Any]
) -> None:
    sent = await send(notify_rig, letter() + b"\n%" + EICAR + b"\n")
    await letters.check_precompiled(ctx, sent["id"])
    assert (await row_of(db, sent["id"])).status == "virus-scan-failed"
    assert await stored_pdf(db, sent["id"]) is None
    api = client(notify_rig)
    got = await asyncio.to_thread(api.get_notification_by_id, sent["id"])
    assert got["status"] == "virus-scan-failed"
    assert refused(lambda: api.get_pdf_for_letter(sent["id"])) == (
        400,
        [{"error": "BadRequestError", "message": "File did not pass the virus scan"}],
    )


@needs_clamscan
@pytest.mark.parametrize(
    ("name", "pdf"),
    [
        ("eleven pages", pages(11)),
        ("not a PDF", b"just some text"),
        ("no address in the window", pages(1)),
        ("an address the rules refuse", letter(["Ada Lovelace", "London"])),
    ],
)
async def test_files_that_cannot_be_printed_fail_validation(
    notify_rig: NotifyRig, db: Database, ctx: dict[str, Any], name: str, pdf: bytes
) -> None:
    sent = await send(notify_rig, pdf)
    await letters.check_precompiled(ctx, sent["id"])
    row = await row_of(db, sent["id"])
    assert (row.status, row.to) == ("validation-failed", "Provided as PDF"), name
    served = await asyncio.to_thread(client(notify_rig).get_pdf_for_letter, sent["id"])
    assert served.read() == pdf  # kept, so the service can see what was wrong


async def test_no_verdict_leaves_the_letter_waiting_for_a_retry(
    notify_rig: NotifyRig, db: Database, ctx: dict[str, Any]
) -> None:
    sent = await send(notify_rig, letter())
    broken = {**ctx, letters.SCANNER: ClamAvScanner(database=str(SIGNATURES.with_name("missing.ndb")))}
    await letters.check_precompiled(broken, sent["id"])
    row = await row_of(db, sent["id"])
    assert (row.status, row.attempt) == ("pending-virus-check", 1)
    assert row.next_attempt_at > utcnow() + letters.RETRY_DELAY - timedelta(seconds=30)
    await letters.check_precompiled(ctx, sent["id"])  # not due yet: the claim refuses it
    assert (await row_of(db, sent["id"])).attempt == 1


# --- Request errors -------------------------------------------------------------------------------------------


def test_request_errors_have_gov_uk_messages(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    content = base64.b64encode(letter()).decode()

    def post(body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: api.post("/v2/notifications/letter", data=body)

    assert refused(post({"reference": "r", "content": "not base64!"})) == (
        400,
        [{"error": "BadRequestError", "message": "Cannot decode letter content (invalid base64 encoding)"}],
    )
    assert refused(lambda: api.send_precompiled_letter_notification("r", io.BytesIO(letter()), "third")) == (
        400,
        [{"error": "BadRequestError", "message": "postage invalid. It must be either first, second or economy."}],
    )
    assert refused(post({"content": content})) == (
        400,
        [{"error": "ValidationError", "message": "reference is a required property"}],
    )
    too_big = base64.b64encode(b"%PDF-" + bytes(letters.MAX_PDF_BYTES)).decode()
    assert refused(post({"reference": "r", "content": too_big})) == (
        400,
        [{"error": "BadRequestError", "message": "File is larger than 2MB"}],
    )
    team = client(notify_rig, "team")
    assert refused(lambda: team.send_precompiled_letter_notification("r", io.BytesIO(letter()))) == (
        403,
        [{"error": "BadRequestError", "message": "Cannot send letters with a team api key"}],
    )


# --- GET /v2/notifications/{id}/pdf ---------------------------------------------------------------------------


async def test_the_pdf_endpoint_checks_in_order(notify_rig: NotifyRig, db: Database) -> None:
    api = client(notify_rig, "test")
    sms = await asyncio.to_thread(
        api.send_sms_notification, "07700900123", notify_rig.templates["sms"], {"name": "Ada", "code": "1"}
    )
    assert refused(lambda: api.get_pdf_for_letter(sms["id"])) == (
        400,
        [{"error": "BadRequestError", "message": "Notification is not a letter"}],
    )
    assert refused(lambda: api.get_pdf_for_letter(str(uuid.uuid4()))) == (
        404,
        [{"error": "NoResultFound", "message": "No result found"}],
    )
    assert refused(lambda: api.get_pdf_for_letter("not-an-id")) == (
        400,
        [{"error": "ValidationError", "message": "notification_id is not a valid UUID"}],
    )
    failed = await send(notify_rig, letter())
    async with db.write_session() as session:
        await session.execute(
            update(Notification).where(Notification.id == uuid.UUID(failed["id"])).values(status="technical-failure")
        )
    assert refused(lambda: api.get_pdf_for_letter(failed["id"])) == (
        400,
        [{"error": "BadRequestError", "message": "PDF not available for letters in status technical-failure"}],
    )


async def test_a_templated_letter_is_drawn_on_first_request_and_kept(notify_rig: NotifyRig, db: Database) -> None:
    api = client(notify_rig, "test")
    address = {"address_line_1": "Ann Example", "address_line_2": "10 High Street", "address_line_3": "cf101aa"}
    sent = await asyncio.to_thread(
        api.send_letter_notification, notify_rig.templates["letter"], {"name": "Ann", **address}
    )
    assert await stored_pdf(db, sent["id"]) is None
    pdf = (await asyncio.to_thread(api.get_pdf_for_letter, sent["id"])).read()
    checked = validate_precompiled(pdf)  # A4, at most 10 pages, the address in the envelope window
    assert checked.is_valid, checked.message
    assert checked.address_lines == ("Ann Example", "10 High Street", "CF10 1AA")
    assert await stored_pdf(db, sent["id"]) == pdf
    assert (await asyncio.to_thread(api.get_pdf_for_letter, sent["id"])).read() == pdf


# --- The scanner on its own -----------------------------------------------------------------------------------


@needs_clamscan
async def test_clamscan_verdicts() -> None:
    scanner = ClamAvScanner(database=str(SIGNATURES))
    assert (await scanner.scan(letter())).clean
    infected = await scanner.scan(b"%PDF-1.4\n%" + EICAR + b"\n%%EOF\n")
    assert not infected.clean
    assert infected.signature is not None and infected.signature.startswith("Gaap-Test-EICAR")
    with pytest.raises(ScannerError):
        await ClamAvScanner(database=str(SIGNATURES.with_name("missing.ndb"))).scan(letter())


def test_scanning_can_be_switched_off_in_development_only() -> None:
    off = ScannerSettings(letter_scanner="none")
    assert isinstance(build_scanner(off, PlatformSettings(env="development")), NoScanner)
    production = PlatformSettings(env="production", public_base_url="https://notify.example.gov.uk")
    with pytest.raises(ConfigurationError):
        build_scanner(off, production)
    assert isinstance(build_scanner(ScannerSettings(), production), ClamAvScanner)


def test_a_configured_clamd_is_asked_through_clamdscan(tmp_path: Path) -> None:
    unix = ClamAvScanner(clamd_socket="/run/clamav/clamd.ctl").command(tmp_path / "file", tmp_path)
    assert unix == [
        "clamdscan",
        f"--config-file={tmp_path / 'clamd.conf'}",
        "--no-summary",
        "--fdpass",
        str(tmp_path / "file"),
    ]
    assert (tmp_path / "clamd.conf").read_text() == "LocalSocket /run/clamav/clamd.ctl\n"
    tcp = ClamAvScanner(clamd_socket="tcp://clamav:3310").command(tmp_path / "file", tmp_path)
    assert "--stream" in tcp
    assert (tmp_path / "clamd.conf").read_text() == "TCPSocket 3310\nTCPAddr clamav\n"


@pytest.mark.skipif(shutil.which("clamd") is None or shutil.which("clamdscan") is None, reason="clamd not installed")
async def test_clamd_verdicts(tmp_path: Path) -> None:
    database = tmp_path / "db"
    database.mkdir()
    shutil.copy(SIGNATURES, database)
    socket = tmp_path / "clamd.sock"
    config = tmp_path / "clamd.conf"
    config.write_text(f"LocalSocket {socket}\nDatabaseDirectory {database}\nForeground yes\n")
    daemon = await asyncio.create_subprocess_exec(
        "clamd", f"--config-file={config}", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(30):
            while not socket.exists():  # noqa: ASYNC110  (clamd creates it once its signatures are loaded)
                await asyncio.sleep(0.05)
        scanner = ClamAvScanner(clamd_socket=str(socket))
        assert (await scanner.scan(letter())).clean
        assert not (await scanner.scan(b"%PDF-1.4\n%" + EICAR + b"\n")).clean
    finally:
        daemon.terminate()
        await asyncio.wait_for(daemon.wait(), 10)
