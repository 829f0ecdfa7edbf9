"""The scale-out harness itself: namespace hosts (`bench.netns`) and the round-robin balancer (`bench.balancer`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.balancer import RoundRobin
from bench.netns import PREFIX, Network, cleanup_stale
from gaap.embedded.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
#: A TCP server answering each connection with its host's name, on every address of its host.
SERVER = """
import socket, sys
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("0.0.0.0", int(sys.argv[1]))); sock.listen(); print("ready", flush=True)
while True:
    conn, _ = sock.accept(); conn.sendall(sys.argv[2].encode()); conn.close()
"""
CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as sock:
    print(sock.recv(64).decode())
"""
BUSY = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n"


def leftovers(run_id: str) -> list[str]:
    """Every namespace, link and cgroup of a run."""
    found = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    found += subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.split()
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")):
        found += [p.name for p in root.glob(f"{PREFIX}*")]
    return sorted({n.rstrip(":").split("@")[0] for n in found if n.startswith(f"{PREFIX}{run_id}")})


def serve(net: Network, host: str, port: int) -> subprocess.Popen[str]:
    argv = net.command(host, [sys.executable, "-c", SERVER, str(port), host])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def ask(net: Network, host: str | None, address: str, port: int) -> str:
    argv = [sys.executable, "-c", CLIENT, address, str(port)]
    done = subprocess.run(net.command(host, argv) if host else argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_hosts_reach_each_other_and_the_root_namespace_then_vanish(netns_allowed: None) -> None:
    port = 8123
    with Network(["alpha", "beta"]) as net:
        run_id = net.run_id
        assert net.address("alpha") != net.address("beta")
        servers = [serve(net, name, port) for name in ("alpha", "beta")]
        try:
            # The same port on each host: every host has its own addresses, as pods do.
            assert ask(net, "beta", net.address("alpha"), port) == "alpha"
            assert ask(net, "alpha", net.address("beta"), port) == "beta"
            assert ask(net, None, net.address("alpha"), port) == "alpha"
            # Each host's loopback is its own: beta's 127.0.0.1 is beta.
            assert ask(net, "beta", "127.0.0.1", port) == "beta"
        finally:
            for server in servers:
                server.kill()
                server.wait()
        assert leftovers(run_id)
    assert leftovers(run_id) == []


def test_a_crashed_runs_hosts_are_removed_by_the_next_run(netns_allowed: None) -> None:
    """A run killed before it could clean up leaves its names behind; the next `Network` (or `cleanup_stale`)
    removes them, because their owner's PID is gone."""
    crash = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); from bench.netns import Network\n"
        "net = Network(['orphan'], cpu=0.5).start(); print(net.run_id, flush=True); os._exit(0)"
    )
    done = subprocess.run([sys.executable, "-c", crash, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    left = leftovers(run_id)
    assert any(name.endswith("-orphan") for name in left) and f"{PREFIX}{run_id}br" in left
    removed = cleanup_stale()
    assert leftovers(run_id) == []
    assert any(run_id in entry for entry in removed)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_hosts_cpu_share_caps_what_it_uses(netns_allowed: None) -> None:
    with Network(["busy"], cpu=0.2) as net:
        proc = subprocess.Popen(
            net.command("busy", [sys.executable, "-c", BUSY]), preexec_fn=net.preexec("busy"), start_new_session=True
        )
        try:
            time.sleep(0.5)  # start-up (imports) aside
            before, started = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(2.0)
            used = (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
            assert used < 0.3, f"a host capped at 0.2 of a core used {used:.2f}"
            net.set_cpu(0)  # lifted: it may use more than its old share
            before, started = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(1.0)
            assert (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started) > 0.25
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _named_server(name: bytes) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_through(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = await reader.read(64)
    writer.close()
    return data


async def test_the_balancer_takes_backends_in_turn_and_skips_a_refusing_one() -> None:
    (one, one_port), (two, two_port) = await _named_server(b"one"), await _named_server(b"two")
    closed_port = free_port()
    balancer = RoundRobin(
        ("127.0.0.1", 0), [("127.0.0.1", one_port), ("127.0.0.1", closed_port), ("127.0.0.1", two_port)]
    )
    _host, port = await balancer.start()
    try:
        answers = [await _read_through(port) for _ in range(4)]
    finally:
        assert balancer.server is not None
        balancer.server.close()
        one.close()
        two.close()
    assert answers == [b"one", b"two", b"one", b"two"]
    assert balancer.handed == [2, 0, 2]


def test_the_balancer_refuses_to_start_without_backends() -> None:
    with pytest.raises(ValueError, match="at least one backend"):
        RoundRobin(("127.0.0.1", 0), [])
