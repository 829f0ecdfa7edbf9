"""A throwaway PostgreSQL cluster on loopback for tests and benchmarks.

`initdb` refuses to run as root, so when we are root both initdb and the server run as the `postgres` user,
in a directory under /tmp that it can traverse (never under /root). The postmaster runs in the foreground as
our own child rather than through `pg_ctl start`, which would detach it: that way we hold its PID, and the
parent-death signal (SIGQUIT, PostgreSQL's immediate shutdown) stops it even if we are SIGKILLed. Readiness
is what `pg_ctl -w` checks: the status line of `postmaster.pid` says "ready". Durability is switched off
(fsync, synchronous commit, full-page writes) because the cluster is deleted on stop; never copy these
settings to a cluster that matters.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from gaap.embedded import die_with_parent, stop_process
from gaap.embedded.ports import free_port

_PORT_ATTEMPTS = 3
_SEARCH_DIRS = ("/usr/local/bin",)


def find_postgres_bindir() -> Path:
    """The directory holding `initdb` and `postgres` of one installation (both from the same version)."""
    candidates = [Path(d) / "initdb" for d in _SEARCH_DIRS]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path))
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates += [Path(p) for p in sorted(versions, key=lambda p: int(Path(p).parts[-3]), reverse=True)]
    for initdb in candidates:
        bindir = initdb.resolve().parent
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    raise FileNotFoundError("no PostgreSQL installation found (initdb and postgres)")


def _run_as_kwargs() -> dict[str, Any]:
    """Popen arguments that drop root to the `postgres` user (empty when we are not root)."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    groups = os.getgrouplist(user.pw_name, user.pw_gid)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": groups}


def _postmaster_status(data_dir: Path) -> str:
    """The status line of postmaster.pid ("starting", "ready", ...), empty until the file is complete."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return ""
    return lines[7].strip() if len(lines) > 7 else ""


class PostgresServer:
    """Start with `start()` or `with PostgresServer() as pg:`; `pg.dsn` is a superuser DSN (trust auth)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        clients: str | None = None,
        max_connections: int = 300,
        parent_dir: str = "/tmp",  # noqa: S108 - the postgres user must be able to traverse it
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = host
        #: A network (CIDR) whose clients are trusted besides loopback's, for a server on a non-loopback `host`.
        self.clients = clients
        self.max_connections = max_connections
        self.parent_dir = parent_dir
        self.startup_timeout = startup_timeout
        self._requested_port = port
        self._port: int | None = None
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def pid(self) -> int:
        """The postmaster's PID."""
        if self._proc is None:
            raise RuntimeError("the server is not started")
        return self._proc.pid

    @property
    def root_dir(self) -> Path:
        """The temporary directory holding the cluster (`data/`), its log and its socket; removed on stop."""
        if self._root is None:
            raise RuntimeError("the server is not started")
        return self._root

    def start(self) -> PostgresServer:
        """initdb a fresh cluster, start it, block until it accepts connections; RuntimeError if it cannot."""
        if self._proc is not None:
            raise RuntimeError("the server is already started")
        bindir = find_postgres_bindir()
        run_as = _run_as_kwargs()
        self._root = Path(tempfile.mkdtemp(prefix="gaap-pg-", dir=self.parent_dir))
        try:
            if run_as:
                os.chown(self._root, run_as["user"], run_as["group"])
            self._initdb(bindir, run_as)
            attempts_left = 1 if self._requested_port else _PORT_ATTEMPTS
            while True:
                port = self._requested_port or free_port(self.host)
                log = self._try_start(bindir, run_as, port)
                if log is None:
                    break
                attempts_left -= 1
                if "in use" not in log or attempts_left == 0:
                    raise RuntimeError(f"postgres did not start on port {port}:\n{log}")
        except BaseException:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            raise
        self._port = port
        return self

    def _initdb(self, bindir: Path, run_as: dict[str, Any]) -> None:
        assert self._root is not None
        argv = [str(bindir / "initdb"), "-D", str(self._root / "data"), "-A", "trust", "-U", "postgres"]
        argv += ["-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(
            argv, cwd=self._root, capture_output=True, check=False, timeout=self.startup_timeout, **run_as
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise RuntimeError(f"initdb failed with status {done.returncode}:\n{output}")
        if self.clients:
            with (self._root / "data" / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {self.clients} trust\n")

    def _try_start(self, bindir: Path, run_as: dict[str, Any], port: int) -> str | None:
        """Start the postmaster once; None when it is ready, else the tail of its log."""
        assert self._root is not None
        data_dir = self._root / "data"
        settings = {
            "listen_addresses": self.host,
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        argv = [str(bindir / "postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(self._root)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        log_path = self._root / "postgres.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._root,
                start_new_session=True,  # Ctrl-C in a terminal is for the command, not the servers under it
                preexec_fn=die_with_parent(signal.SIGQUIT),  # runs after the switch to the postgres user
                **run_as,
            )
        try:
            deadline = time.monotonic() + self.startup_timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if _postmaster_status(data_dir) == "ready":
                    self._proc = proc
                    return None
                time.sleep(0.02)
        except BaseException:  # interrupted while waiting: never leave the half-started server behind
            stop_process(proc, signal.SIGQUIT, timeout=2)
            raise
        stop_process(proc, signal.SIGQUIT, timeout=5)
        tail = log_path.read_text(errors="replace")[-2000:]
        return tail or f"no output; exit status {proc.returncode}"

    def stop(self, timeout: float = 10.0) -> None:
        """Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`), SIGKILL if needed; delete the dir."""
        if self._proc is not None:
            stop_process(self._proc, signal.SIGQUIT, timeout=timeout)
            self._proc = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
