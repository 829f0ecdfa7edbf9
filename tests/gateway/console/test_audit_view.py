"""The audit log in the console: operators search the whole platform, a service's admins their own service, by
actor, action, service and dates, page by page; each entry shows its hash, an altered entry is marked and the
chain check fails; and `gaap audit verify` exits non-zero with a clear message when one row is tampered with."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from gaap.cli.main import app
from gaap.db.engine import Database
from gateway.audit import service as audit
from gateway.audit.models import AuditEvent
from tests.gateway.conftest import closed_port_url
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.identity.support import Person

SECOND_OPERATOR = "someone-else@platform.gaap.test"
ENTRY = re.compile(r'<a class="govuk-link" href="[^"]*/audit/(\d+)">')


@pytest.fixture(scope="module")
def operator(console_rig: ConsoleRig) -> Person:
    return console_rig.person(SECOND_OPERATOR)


async def _record(db_url: str, service_id: uuid.UUID, actor: str, count: int) -> list[int]:
    db = Database(db_url, pool_size=1)
    try:
        seqs = []
        for n in range(count):
            async with db.write_session() as session:
                event = await audit.record(
                    session,
                    actor=actor,
                    action="test.paging",
                    target_type="test",
                    target_id=str(n),
                    service_id=service_id,
                )
                seqs.append(event.seq)
        return seqs
    finally:
        await db.dispose()


async def _set_actor(db_url: str, seq: int, actor: str) -> None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            await session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor=actor))
    finally:
        await db.dispose()


def _entries(page: str) -> list[int]:
    return [int(seq) for seq in ENTRY.findall(page)]


def test_operators_search_and_page_the_platforms_log(
    browser: ConsoleBrowser, console_rig: ConsoleRig, operator: Person
) -> None:
    actor = f"paging-{uuid.uuid4().hex[:8]}@example.gov.uk"
    seqs = asyncio.run(_record(console_rig.gateway_db, console_rig.demo_service_id, actor, 55))
    home = browser.sign_in_to_console(operator)
    assert 'href="/console/audit"' in home.text

    first = browser.get("/console/audit", params={"actor": actor[:14].upper(), "action": "test.paging"})
    assert first.status_code == 200
    assert _entries(first.text) == list(reversed(seqs))[:50]
    assert "Demo Department: Demo service" in first.text
    older = re.search(r'href="(/console/audit\?[^"]*before=\d+)"', first.text)
    assert older and "Newer entries" not in first.text
    second = browser.get(older.group(1).replace("&amp;", "&"))
    assert _entries(second.text) == list(reversed(seqs))[50:]
    assert "Older entries" not in second.text
    newer = re.search(r'href="(/console/audit\?[^"]*after=\d+)"', second.text)
    assert newer
    assert _entries(browser.get(newer.group(1).replace("&amp;", "&")).text) == list(reversed(seqs))[:50]

    today = datetime.now(UTC).date().isoformat()
    dated = browser.get("/console/audit", params={"actor": actor, "from": today, "to": today})
    assert len(_entries(dated.text)) == 50
    future = browser.get("/console/audit", params={"actor": actor, "from": "2999-01-01"})
    assert _entries(future.text) == [] and "No entries match." in future.text
    other = browser.get("/console/audit", params={"actor": actor, "service": str(console_rig.console_service_id)})
    assert _entries(other.text) == []
    wrong = browser.get("/console/audit", params={"from": "27/03/2026"})
    assert wrong.status_code == 400
    assert '<a href="#from">Enter the ‘from’ date as year-month-day' in wrong.text

    entry = browser.get(f"/console/audit/{seqs[0]}")
    event = asyncio.run(_event(console_rig.gateway_db, seqs[0]))
    assert entry.status_code == 200 and event.hash in entry.text and event.prev_hash in entry.text
    assert "Matches its contents" in entry.text
    assert browser.get("/console/audit/999999999999").status_code == 404
    verified = browser.get("/console/audit", params={"verify": "1"})
    assert "The audit log’s hash chain verifies" in verified.text


async def _event(db_url: str, seq: int) -> AuditEvent:
    db = Database(db_url, pool_size=1)
    try:
        async with db.read_session() as session:
            event = (await session.execute(select(AuditEvent).where(AuditEvent.seq == seq))).scalar_one()
            session.expunge(event)
            return event
    finally:
        await db.dispose()


def test_an_altered_entry_is_marked_and_the_chain_fails(
    browser: ConsoleBrowser, console_rig: ConsoleRig, operator: Person
) -> None:
    actor = f"tamper-{uuid.uuid4().hex[:8]}"
    (seq,) = asyncio.run(_record(console_rig.gateway_db, console_rig.demo_service_id, actor, 1))
    browser.sign_in_to_console(operator, "/console/audit")
    asyncio.run(_set_actor(console_rig.gateway_db, seq, actor + "-edited"))
    try:
        page = browser.get("/console/audit", params={"actor": actor, "verify": "1"})
        assert _entries(page.text) == [seq]
        assert "Altered" in page.text
        assert (
            f"The audit log’s hash chain does not verify at entry {seq}: its contents do not match its hash."
            in page.text
        )
    finally:
        asyncio.run(_set_actor(console_rig.gateway_db, seq, actor))
    assert "The audit log’s hash chain verifies" in browser.get("/console/audit?verify=1").text


def test_service_admins_see_their_service_only(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    service_path = f"/console/services/{console_rig.demo_service_id}"
    page = browser.sign_in_to_console(admin, service_path)
    assert f'href="{service_path}/audit"' in page.text and 'href="/console/audit"' not in page.text
    log = browser.get(f"{service_path}/audit", params={"actor": admin.email})
    assert log.status_code == 200 and "Service" not in re.findall(r"<th[^>]*>([^<]*)</th>", log.text)
    member_add = asyncio.run(_latest(console_rig.gateway_db, "member.add", admin.email))
    assert member_add is not None and member_add.service_id == str(console_rig.demo_service_id)
    assert browser.get(f"{service_path}/audit/{member_add.seq}").status_code == 200
    elsewhere = asyncio.run(_latest_elsewhere(console_rig.gateway_db, str(console_rig.demo_service_id)))
    assert browser.get(f"{service_path}/audit/{elsewhere}").status_code == 404
    assert browser.get("/console/audit").status_code == 403
    assert browser.get(f"{service_path}/audit", params={"verify": "1"}).status_code == 200

    member = console_rig.member(["send_messages"])
    other = console_rig.browser()
    try:
        other.sign_in_to_console(member, service_path)
        assert other.get(f"{service_path}/audit").status_code == 403
    finally:
        other.close()


async def _latest(db_url: str, action: str, email: str) -> AuditEvent | None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.read_session() as session:
            events = await audit.search(session, action=action, limit=200)
            found = next((e for e in events if e.details.get("email") == email), None)
            if found is not None:
                session.expunge(found)
            return found
    finally:
        await db.dispose()


async def _latest_elsewhere(db_url: str, service_id: str) -> int:
    db = Database(db_url, pool_size=1)
    try:
        async with db.read_session() as session:
            query = select(AuditEvent.seq).where(AuditEvent.service_id != service_id).order_by(AuditEvent.seq.desc())
            return (await session.execute(query.limit(1))).scalar_one()
    finally:
        await db.dispose()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gateway database of its own (SQLite under a temporary data dir), migrated with `gaap migrate`."""
    monkeypatch.setenv("GAAP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_NOTIFY_URL", closed_port_url())
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["migrate", "gateway"])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_gaap_audit_verify_fails_when_one_row_is_tampered_with(cli_env: Path) -> None:
    runner = CliRunner()
    for name in ("Department one", "Department two", "Department three"):
        assert runner.invoke(app, ["org", "create", name]).exit_code == 0
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and intact.stdout.strip() == "ok: 3 events, chain intact"

    with sqlite3.connect(cli_env / "gateway.db") as conn:
        conn.execute("UPDATE audit_events SET details = ? WHERE seq = 2", ('{"name": "Department 2"}',))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert broken.stderr.strip() == "BROKEN at event 2: its contents do not match its hash"
