"""A full disk under the SQLite data dir in embedded mode (issue 9): Notify refuses sends with a clear 503 in its own
v2 envelope (never a 500), loses nothing it accepted before, and accepts and delivers again without any restart once
space is freed.

The rig runs the platform as `gaap up` does (a SQLite file per component in `GAAP_DATA_DIR`), with the data dir on a
small tmpfs this module mounts; the disk fills when a file is written until the filesystem refuses more, and space
comes back when that file is deleted. Redis, the SMS provider's store and the logs live outside it.

Why 503 and not 507: the request committed nothing and the same request succeeds once space is freed, which is what
Notify's 503 says (its clients map it to `HTTP503Error`, their "safe to retry" signal, where 507, WebDAV's
Insufficient Storage, is an unknown 5xx); the message says what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gaap.db.outage import STORAGE_FULL_MESSAGE
from tests.reliability.checks import assert_each_delivered_once, send_texts
from tests.reliability.conftest import KEEP_ENV, Profile
from tests.reliability.rig import Platform

#: Room for the migrated databases and their write-ahead logs, small enough to fill in a moment.
TMPFS_SIZE = "48m"
FULL_ANSWER = {"status_code": 503, "errors": [{"error": "ServiceUnavailable", "message": STORAGE_FULL_MESSAGE}]}


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """A tmpfs of `TMPFS_SIZE`, mounted for this module and always unmounted after it."""
    mountpoint = Path(tempfile.mkdtemp(prefix="gaap-disk-full-"))
    if shutil.which("mount") is None:
        mountpoint.rmdir()
        pytest.skip("mounting a tmpfs needs the `mount` command, which is not installed")
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mountpoint))
    if mounted.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"mounting a tmpfs is not permitted here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield mountpoint
    finally:
        if _run("umount", str(mountpoint)).returncode != 0:
            _run("umount", "-l", str(mountpoint))  # something still holds a file: detach it now, free it later
        mountpoint.rmdir()


@pytest.fixture(scope="module")
def embedded(data_dir: Path) -> Iterator[Platform]:
    workdir = Path(tempfile.mkdtemp(prefix="gaap-reliability-embedded-"))
    running = Platform(workdir, "", data_dir=data_dir).start()
    try:
        yield running
    finally:
        running.close()
        if os.environ.get(KEEP_ENV) == "1":
            print(f"reliability: logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem refuses more (ENOSPC), in ever smaller pieces so no block is left."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            piece = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    out.write(piece)
    assert shutil.disk_usage(directory).free < 1 << 12, shutil.disk_usage(directory)
    return filler


async def send_one(notify: httpx.AsyncClient, platform: Platform, ref: str) -> httpx.Response:
    assert platform.tenant is not None
    body = {
        "phone_number": "07700900450",
        "template_id": platform.tenant.sms_template,
        "personalisation": {"ref": ref},
        "reference": ref,
    }
    return await notify.post("/v2/notifications/sms", json=body)


async def test_a_full_data_dir_refuses_sends_clearly_loses_nothing_and_recovers(
    embedded: Platform, data_dir: Path, profile: Profile
) -> None:
    pids = {name: proc.pid for name, proc in embedded.procs.items()}
    before = await send_texts(embedded, 40, concurrency=8, label="before-full")
    assert not before.refused, before.refused

    filler = fill(data_dir)
    full_since = time.monotonic()
    during: list[str] = []
    answers: Counter[str] = Counter()
    async with embedded.notify_client(timeout=30) as notify:
        # SQLite may still write into space its files already hold (the write-ahead log) for a few requests.
        n = 0
        while time.monotonic() - full_since < profile.disk_full_seconds or not answers:
            assert time.monotonic() - full_since < 30, f"still accepting sends 30 s after the disk filled: {n}"
            answer = await send_one(notify, embedded, f"full-{n}")
            n += 1
            if answer.status_code == 201:
                during.append(answer.json()["id"])
                continue
            assert answer.status_code == 503, f"{answer.status_code} {answer.text}"
            assert answer.json() == FULL_ANSWER, answer.text
            answers[answer.text] += 1
            await asyncio.sleep(0.1)
        # Reads need no space: the service still answers them.
        listing = await notify.get("/v2/notifications")
        assert listing.status_code == 200, listing.text

        filler.unlink()
        freed = time.monotonic()
        recovered = None
        while recovered is None:
            answer = await send_one(notify, embedded, f"freed-{len(answers)}")
            if answer.status_code == 201:
                recovered = time.monotonic() - freed
                during.append(answer.json()["id"])
            else:
                assert answer.json() == FULL_ANSWER, f"{answer.status_code} {answer.text}"
                assert time.monotonic() - freed < 30, "sends still refused 30 s after space was freed"
                await asyncio.sleep(0.2)

    after = await send_texts(embedded, 20, concurrency=8, label="after-full")
    assert not after.refused, after.refused
    await assert_each_delivered_once(embedded, before.accepted + during + after.accepted, within=90)
    embedded.check_alive()
    assert {name: proc.pid for name, proc in embedded.procs.items()} == pids, "a process was restarted"
    print(
        f"disk full for {freed - full_since:.1f}s: {sum(answers.values())} sends refused with 503,"
        f" {len(during)} accepted meanwhile; accepting again {recovered:.1f}s after space was freed"
    )
