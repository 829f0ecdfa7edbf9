"""The `gaap up` supervisor: restarts with backoff, stops all on a clean exit or a signal, leaves no orphan.

Children are small Python scripts that record their PIDs in files, so the tests can check each one is gone.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gaap.embedded.ports import free_port
from gaap.embedded.supervisor import ChildSpec, Supervisor, wait_ready
from tests.embedded import alive, wait_for_file, wait_gone

# A child that writes its PID (and, with "grandchild", the PID of a `sleep` it started) to argv[1], then
# waits. With "stubborn" it ignores SIGTERM, so only SIGKILL stops it.
SLEEPER = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    if "stubborn" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pids = [os.getpid()]
    if "grandchild" in sys.argv:
        pids.append(subprocess.Popen(["sleep", "60"]).pid)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(" ".join(map(str, pids)))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(60)
""")

# Records each start in argv[1]; crashes the first three runs, stays up `argv[2]` s then crashes on the
# fourth, exits cleanly on the fifth.
FLAKY = textwrap.dedent("""
    import pathlib, sys, time
    log = pathlib.Path(sys.argv[1])
    runs = log.read_text().split() if log.exists() else []
    log.write_text(" ".join([*runs, str(time.monotonic())]))
    if len(runs) == 3:
        time.sleep(float(sys.argv[2]))
    sys.exit(0 if len(runs) >= 4 else 1)
""")

# Starts a `sleep` that inherits its output pipes and records the sleep's PID in argv[1]; crashes the first
# time, exits cleanly the second.
HOLDER = textwrap.dedent("""
    import pathlib, subprocess, sys
    log = pathlib.Path(sys.argv[1])
    runs = log.read_text().split() if log.exists() else []
    log.write_text(" ".join([*runs, str(subprocess.Popen(["sleep", "60"]).pid)]))
    sys.exit(0 if runs else 1)
""")


def sleeper(name: str, pid_file: Path, *flags: str) -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", SLEEPER, str(pid_file), *flags])


def pids_in(*files: Path) -> list[int]:
    return [int(pid) for file in files for pid in wait_for_file(file).split()]


async def test_crashing_child_is_restarted_with_backoff_that_resets(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    messages: list[str] = []
    supervisor = Supervisor(backoff_initial=0.1, stable_after=1.0, log=messages.append)
    flaky = ChildSpec("flaky", [sys.executable, "-c", FLAKY, str(starts), "1.2"])

    assert await asyncio.wait_for(supervisor.run([flaky]), 20) == 0

    times = [float(t) for t in starts.read_text().split()]
    assert len(times) == 5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # each restart waited at least its delay (start-up time under load only adds to the gaps)
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2
    assert gaps[2] >= 0.4
    restarts = [m.rsplit(" ", 1)[1] for m in messages if "restarting in" in m]
    assert restarts == ["0.1s", "0.2s", "0.4s", "0.1s"]  # back to 0.1 s after staying up past stable_after
    assert "flaky exited cleanly: stopping every child" in messages


async def test_crash_is_seen_while_a_grandchild_holds_the_output_pipes(tmp_path: Path) -> None:
    log = tmp_path / "grandchildren"
    supervisor = Supervisor(backoff_initial=0.1, log=lambda _: None)

    assert (
        await asyncio.wait_for(supervisor.run([ChildSpec("holder", [sys.executable, "-c", HOLDER, str(log)])]), 5) == 0
    )

    grandchildren = [int(pid) for pid in log.read_text().split()]
    assert len(grandchildren) == 2
    assert wait_gone(grandchildren) == []


async def test_clean_exit_of_one_child_stops_all_and_their_children(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = ChildSpec("done", [sys.executable, "-c", "import time; time.sleep(0.5); print('bye')"])
    supervisor = Supervisor(log=lambda _: None)

    code = await asyncio.wait_for(supervisor.run([sleeper("server", tmp_path / "p", "grandchild"), done]), 20)

    assert code == 0
    assert wait_gone(pids_in(tmp_path / "p")) == []
    assert "done   | bye\n" in capsys.readouterr().out  # prefixed with the name, padded to the longest


async def test_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    messages: list[str] = []
    supervisor = Supervisor(stop_timeout=0.5, log=messages.append)
    task = asyncio.create_task(supervisor.run([sleeper("stubborn", tmp_path / "p", "stubborn")]))
    pids = await asyncio.to_thread(pids_in, tmp_path / "p")

    supervisor.request_stop()

    assert await asyncio.wait_for(task, 10) == 0
    assert wait_gone(pids) == []
    assert any("ignored SIGTERM" in m for m in messages)


async def test_failed_child_that_must_not_restart_stops_all_with_its_status(tmp_path: Path) -> None:
    migrate = ChildSpec("migrate", [sys.executable, "-c", "import time; time.sleep(0.3); exit(3)"], restart=False)
    supervisor = Supervisor(log=lambda _: None)

    code = await asyncio.wait_for(supervisor.run([sleeper("server", tmp_path / "p"), migrate]), 20)

    assert code == 3
    assert wait_gone(pids_in(tmp_path / "p")) == []


async def test_child_that_cannot_start_stops_all(tmp_path: Path) -> None:
    missing = ChildSpec("missing", [str(tmp_path / "no-such-program")])
    supervisor = Supervisor(log=lambda _: None)

    code = await asyncio.wait_for(supervisor.run([sleeper("server", tmp_path / "p"), missing]), 20)

    assert code == 127
    if (tmp_path / "p").exists():  # the server may be stopped before it got as far as recording its PID
        assert wait_gone(pids_in(tmp_path / "p")) == []


async def test_children_start_in_order_after_ready_urls_answer(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = ChildSpec(
        "web",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        ready_url=url,
    )
    probe = "import httpx, sys; sys.exit(0 if httpx.get(sys.argv[1], trust_env=False).status_code == 200 else 5)"
    client = ChildSpec("client", [sys.executable, "-c", probe, url], restart=False)
    ready = []
    supervisor = Supervisor(on_ready=lambda: ready.append(True), log=lambda _: None)

    assert await asyncio.wait_for(supervisor.run([server, client]), 20) == 0
    assert ready == [True]


class _ReadyAfterTwoTries(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        self.send_response(200 if type(self).calls > 2 else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def test_wait_ready_polls_until_200_and_times_out_otherwise() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ReadyAfterTwoTries)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        await wait_ready(f"http://127.0.0.1:{httpd.server_port}/readyz", 5, interval=0.01)
        assert _ReadyAfterTwoTries.calls == 3
    finally:
        httpd.shutdown()
        httpd.server_close()
    with pytest.raises(TimeoutError, match="not ready"):
        await wait_ready(f"http://127.0.0.1:{free_port()}/readyz", 0.3)


SUPERVISOR_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from gaap.embedded.supervisor import ChildSpec, Supervisor
    child, out = sys.argv[1], sys.argv[2]
    specs = [ChildSpec(name, [sys.executable, "-c", child, f"{out}/{name}"]) for name in ("one", "two")]
    if "grandchild" in sys.argv:
        specs.append(ChildSpec("parent", [sys.executable, "-c", child, out + "/parent", "grandchild"]))
    if "stubborn" in sys.argv:
        specs.append(ChildSpec("stubborn", [sys.executable, "-c", child, out + "/stubborn", "stubborn"]))
    sys.exit(asyncio.run(Supervisor(stop_timeout=1).run(specs)))
""")


def _start_supervisor(tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", SUPERVISOR_SCRIPT, SLEEPER, str(tmp_path), *flags]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigterm_to_the_supervisor_leaves_no_child_alive(tmp_path: Path) -> None:
    proc = _start_supervisor(tmp_path, "grandchild", "stubborn")
    try:
        pids = pids_in(tmp_path / "one", tmp_path / "two", tmp_path / "parent", tmp_path / "stubborn")
        assert all(alive(pid) for pid in pids)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    assert wait_gone(pids, timeout=1) == []


def test_children_die_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    proc = _start_supervisor(tmp_path)
    try:
        pids = pids_in(tmp_path / "one", tmp_path / "two")
        assert all(alive(pid) for pid in pids)
    finally:
        proc.kill()
        proc.wait()
    assert wait_gone(pids) == []
