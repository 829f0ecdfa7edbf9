"""The platform as production runs it, one process per role, for the reliability suite.

Every role is the project's own entrypoint as a subprocess (`gaap migrate`, `gaap serve gateway|notify|pay|identity`,
`gaap worker notify|pay`), beside the fake SMS provider (`python -m gaap.embedded.fake_sms`), configured as
`gaap up` configures them (`gaap.embedded.up.child_environment`) but on PostgreSQL: one fresh database per component
in the test cluster (`GAAP_TEST_POSTGRES_DSN`), reached through a `FaultProxy` so a test can take PostgreSQL away
without disturbing the other tests that share the cluster. Redis is the rig's own server on a fixed port, so a test
can stop it and start it again (empty) where every process expects it.

The tenant is made as the bench makes it: gateway records written through the gateway's service layer, pushed to
the services through the gateway's outbox, templates made through the gateway with a Notify key. Each process logs
to `<workdir>/<role>.log`, which a failing assertion quotes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr

from bench import load_tenant
from bench.load_tenant import Tenant
from gaap.db.engine import Database
from gaap.embedded import die_with_parent
from gaap.embedded.ports import free_port
from gaap.embedded.redis_server import RedisServer
from gaap.embedded.up import child_environment, load_or_create_secrets
from gateway.demo_templates import NotifyKeyAuth
from gateway.settings import GatewaySettings
from tests.reliability.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
GAAP = [sys.executable, "-m", "gaap.cli.main"]
SERVICES = ("notify", "pay", "identity")


class Proc:
    """One role's process, in its own process group, logging to a file; it dies with the test process."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, ready_url: str | None) -> None:
        self.name, self.argv, self.env, self.log_path, self.ready_url = name, argv, env, log_path, ready_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> None:
        """Spawn it (from the main thread: the parent-death signal is tied to the thread that forks) and, unless
        told not to, wait until it answers its ready URL."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        if wait and self.ready_url is not None:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                answer = httpx.get(self.ready_url or "", timeout=2)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready at {self.ready_url} after {timeout:g}s ({last}):\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with status {self.proc.returncode}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, the whole process group at once (a uvicorn master and its workers), and reap it."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""


@dataclass
class Platform:
    """Start with `start()`, stop with `close()`; `procs` holds every role by name."""

    workdir: Path
    postgres_dsn: str
    webhook_url: str = ""
    #: Embedded mode: a SQLite file per component in this directory (`GAAP_DATA_DIR`), as `gaap up` makes them,
    #: instead of PostgreSQL (`postgres_dsn` is then unused). Logs, Redis and the SMS store stay in `workdir`.
    data_dir: Path | None = None
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    redis: RedisServer | None = None
    postgres_proxy: FaultProxy | None = None
    #: Between the gateway and pay: a slow or resetting upstream.
    pay_proxy: FaultProxy | None = None
    env: dict[str, str] = field(default_factory=dict)
    tenant: Tenant | None = None

    # -- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> Platform:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.redis = RedisServer(port=free_port(), data_dir=self.workdir / "redis").start()
        if self.data_dir is None:
            host, port = _host_port(self.postgres_dsn)
            self.postgres_proxy = FaultProxy(host, port).start()
            self.databases = asyncio.run(self._create_databases())
        else:
            names = ("gateway", *SERVICES)
            self.databases = {name: f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}" for name in names}
        self.ports = {name: free_port() for name in (*SERVICES, "gateway", "sms", "smtp")}
        self.pay_proxy = FaultProxy("127.0.0.1", self.ports["pay"]).start()
        self.env = self._environment()
        subprocess.run([*GAAP, "migrate"], env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=120)
        webhooks = [{"callback_url": self.webhook_url, "subscriptions": ["card_payment_captured"], "active": True}]
        pay = {"allow_moto": True, "allow_moto_api": True, "test": {"webhooks": webhooks if self.webhook_url else []}}
        settings = self._gateway_settings
        self.tenant = asyncio.run(load_tenant.seed(settings, name="Reliability", actor="reliability", pay=pay))
        for name in SERVICES:
            self._proc(name, ["serve", name, "--port", str(self.ports[name])], f"{self.url(name)}/readyz").start()
        outcome = asyncio.run(load_tenant.push(settings, {name: self.url(name) for name in SERVICES}, self.tenant))
        assert outcome.get("delivered"), f"the tenant did not reach the services: {outcome}"
        gateway = ["serve", "gateway", "--port", str(self.ports["gateway"])]
        self._proc("gateway", gateway, f"{self.url()}/readyz").start()
        load_tenant.make_sms_template(self.url(), self.tenant, name="Reliability text", timeout=10)
        sms = [sys.executable, "-m", "gaap.embedded.fake_sms", "--port", str(self.ports["sms"])]
        sms += ["--store", str(self.workdir / "sms"), "--receipt-delay", "0.5", "--log-level", "WARNING"]
        sms += ["--receipt-url", f"{self.url()}/notifications/sms/{{provider}}"]
        self.procs["fake-sms"] = Proc("fake-sms", sms, self.env, self.workdir / "fake-sms.log", None)
        self.procs["fake-sms"].start()
        for name in ("notify", "pay"):
            # Ready once its database and Redis answer; restarted on the same probe port after a kill.
            probe = self.ports[f"{name}-worker"] = free_port()
            args = ["worker", name, "--probe-port", str(probe)]
            self._proc(f"{name}-worker", args, f"{self.url(f'{name}-worker')}/readyz", self.env).start()

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            with contextlib.suppress(Exception):
                self.procs.pop(name).stop()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        for proxy in (self.postgres_proxy, self.pay_proxy):
            if proxy is not None:
                proxy.stop()
        self.postgres_proxy = self.pay_proxy = None

    def _proc(self, name: str, args: list[str], ready_url: str | None, env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, [*GAAP, *args], env or self.env, self.workdir / f"{name}.log", ready_url)
        self.procs[name] = proc
        return proc

    def restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.stop()
        proc.start()

    # -- configuration -------------------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        assert self.redis is not None
        values = load_or_create_secrets(self.workdir)
        ports = {name: self.ports[name] for name in SERVICES}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GAAP_", "GATEWAY_", *_prefixes()))}
        env.update(
            child_environment(
                data_dir=self.data_dir or self.workdir,
                port=self.ports["gateway"],
                redis_url=self.redis.url,
                ports=ports,
                smtp_port=self.ports["smtp"],
                sms_port=self.ports["sms"],
                values=values,
            )
        )
        env.update({f"{name.upper()}_DATABASE_URL": url for name, url in self.databases.items()})
        assert self.pay_proxy is not None
        env["GATEWAY_PAY_URL"] = f"http://127.0.0.1:{self.pay_proxy.port}"
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "GAAP_LOG_LEVEL": os.environ.get("GAAP_RELIABILITY_LOG_LEVEL", "WARNING"),
                "PAY_WEBHOOK_ALLOW_PRIVATE_TEST": "true",
                # How long the gateway waits for an upstream's answer (production: 30 s).
                "GATEWAY_UPSTREAM_TIMEOUT": "3",
                # A crashed worker's texts, and those whose jobs a Redis restart lost, come back within seconds
                # rather than production's minutes, so each scenario fits the suite's time budget.
                "NOTIFY_SMS_TIMEOUT_SECONDS": "4",
                "NOTIFY_SMTP_TIMEOUT_SECONDS": "4",
                "NOTIFY_DELIVERY_LEASE_SECONDS": "5",
                "NOTIFY_JOB_TIMEOUT_SECONDS": "6",
                "NOTIFY_OVERDUE_GRACE_SECONDS": "3",
                "NOTIFY_SWEEP_EVERY_SECONDS": "5",
                # The same for pay's captures and webhook messages (the lease stays above a webhook attempt's 6 s).
                "PAY_PROVIDER_LEASE_SECONDS": "5",
                "PAY_WEBHOOK_LEASE_SECONDS": "7",
                "PAY_JOB_TIMEOUT_SECONDS": "8",
                "PAY_OVERDUE_GRACE_SECONDS": "3",
                "PAY_SWEEP_EVERY_SECONDS": "5",
            }
        )
        self._gateway_settings = GatewaySettings(
            database_url=self.databases["gateway"],
            redis_url=self.redis.url,
            principal_keys=SecretStr(values["principal_keys"]),
            key_encryption_keys=SecretStr(values["key_encryption_keys"]),
            key_hash_pepper=SecretStr(values["key_hash_pepper"]),
            pay_key_checksum_secret=SecretStr(values["pay_key_checksum_secret"]),
            csrf_secret=SecretStr(values["csrf_secret"]),
        )
        return env

    async def _create_databases(self) -> dict[str, str]:
        assert self.postgres_proxy is not None
        conn = await asyncpg.connect(self.postgres_dsn)
        names = {}
        try:
            for component in ("gateway", *SERVICES):
                names[component] = f"rel_{component}_{uuid.uuid4().hex[:8]}"
                await conn.execute(f'CREATE DATABASE "{names[component]}"')
        finally:
            await conn.close()
        base = f"postgresql+asyncpg://postgres@127.0.0.1:{self.postgres_proxy.port}"
        return {component: f"{base}/{name}" for component, name in names.items()}

    async def drop_databases(self) -> None:
        if self.data_dir is not None:
            return  # SQLite files go with the data dir
        conn = await asyncpg.connect(self.postgres_dsn)
        try:
            for url in self.databases.values():
                await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    # -- what scenarios use --------------------------------------------------------------------------------------

    def url(self, name: str = "gateway") -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def notify_client(self, **options: Any) -> httpx.AsyncClient:
        assert self.tenant is not None
        return httpx.AsyncClient(base_url=self.url(), auth=NotifyKeyAuth(self.tenant.notify_key), **options)

    def pay_client(self, **options: Any) -> httpx.AsyncClient:
        assert self.tenant is not None
        headers = {"Authorization": f"Bearer {self.tenant.pay_key}"}
        return httpx.AsyncClient(base_url=self.url(), headers=headers, **options)

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()

    def start_redis(self) -> None:
        """Start Redis again on the same port: empty, as a server without persistence comes back."""
        assert self.redis is not None
        self.redis.start()

    def check_alive(self, names: Iterable[str] | None = None) -> None:
        for name in names or self.procs:
            self.procs[name].check_alive()

    def database(self, component: str) -> Database:
        """A pool on a component's database, directly (not through the proxy), for the tests' own checks."""
        if self.data_dir is not None:
            return Database(self.databases[component], pool_size=2)
        host, port = _host_port(self.postgres_dsn)
        name = self.databases[component].rsplit("/", 1)[1]
        return Database(f"postgresql+asyncpg://postgres@{host}:{port}/{name}", pool_size=2)


def _prefixes() -> tuple[str, ...]:
    return tuple(f"{name.upper()}_" for name in SERVICES)


def _host_port(dsn: str) -> tuple[str, int]:
    netloc = dsn.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = netloc.partition(":")
    return host, int(port or 5432)
