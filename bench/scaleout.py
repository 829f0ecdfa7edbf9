"""The platform scaled out over namespace hosts (`bench.netns`): replica sets of every role, one PostgreSQL and one
Redis, and a round-robin balancer (`bench.balancer`) in front of the gateways.

    root namespace (bridge address)          hosts, one per process, each with its own address
    ├─ PostgreSQL, Redis                      gateway-0   notify-0   pay-0   identity-0
    ├─ fake SMS provider (mmg, firetext)      notify-worker-0   pay-worker-0   gateway-worker-0   identity-worker-0
    └─ balancer :PORT → gateway-0, -1, …     gateway-1   notify-1   … (a second replica set, `add_replica_set()`)

Every process is the project's own entrypoint (`gaap migrate`, `gaap serve ROLE --host 0.0.0.0 --port 8000`,
`gaap worker ROLE --probe-port 9000`) run with `ip netns exec`, configured as an operator configures production:
`GAAP_ENV=production`, fresh secrets from `deploy/envfile.py`'s generator, database and Redis URLs on the bridge.

**Which service replica a gateway calls.** A gateway takes one URL per service, and each gateway host calls the
services of its own replica set (`gateway-1` → `notify-1`, `pay-1`, `identity-1`). In Kubernetes a Service spreads
connections in the kernel (iptables or IPVS), at no cost to the pods; a user-space proxy per service here would add
CPU that production does not spend and blur the measurement. Replicas still compete wherever it matters: the
balancer spreads clients (and the provider's receipts) over both gateways, both sets' APIs write the same
databases, and every worker takes jobs from the same Redis queues.

The tenant is made as the bench's topology makes it: gateway records through the gateway's service layer, pushed to
the services through the gateway's outbox, the text template made through the balancer with a Notify key.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from pydantic import SecretStr

from bench import load_tenant
from bench.load_tenant import Tenant
from bench.netns import Network
from deploy.envfile import generate
from gaap.db.engine import Database
from gaap.embedded import die_with_parent
from gaap.embedded.ports import free_port
from gaap.embedded.postgres_server import PostgresServer
from gaap.embedded.redis_server import RedisServer
from gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[1]
GAAP = [sys.executable, "-m", "gaap.cli.main"]
SERVICES = ("notify", "pay", "identity")
COMPONENTS = ("gateway", *SERVICES)
#: Every API listens on this port of its own host, every worker answers its probes on PROBE_PORT (as in a pod).
API_PORT = 8000
PROBE_PORT = 9000
PUBLIC_BASE_URL = "https://gaap.scaleout.invalid"
SMS_PROVIDERS = ("mmg", "firetext")
#: Pay settings of the tenant: MOTO by API, so payments are authorised without a browser.
PAY_SETTINGS = {"allow_moto": True, "allow_moto_api": True}


class Proc:
    """One role's process on one host, logged to `<workdir>/<name>.log`; stopped by PID and process group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, preexec: Callable[[], None]):
        self.name, self.argv, self.env, self.log_path, self._preexec = name, argv, env, log_path, preexec
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, out of reach of the terminal's Ctrl-C
                preexec_fn=self._preexec,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to its process group for whatever is left."""
        stop_all([self], timeout)

    def tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def stop_all(procs: list[Proc], timeout: float = 10.0) -> None:
    """SIGTERM to every process at once, up to `timeout` for all of them to exit, then SIGKILL to each process
    group (a process's children) for whatever is left."""
    running = [p.proc for p in procs if p.proc is not None]
    for proc in running:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_ready(procs: list[tuple[Proc, str]], timeout: float = 60.0) -> None:
    """Until every `(process, url)` answers 200; the processes start in parallel, so this waits for them together."""
    deadline = time.monotonic() + timeout
    waiting = list(procs)
    last: dict[str, str] = {}
    while waiting:
        for proc, url in list(waiting):
            proc.check_alive()
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        waiting.remove((proc, url))
            except (urllib.error.URLError, OSError) as exc:
                last[proc.name] = str(exc)
        if waiting and time.monotonic() > deadline:
            proc, url = waiting[0]
            raise RuntimeError(
                f"{proc.name} not ready at {url} after {timeout:g}s ({last.get(proc.name)}):\n{proc.tail()}"
            )
        if waiting:
            time.sleep(0.2)


@dataclass
class ScaleOut:
    """Start with `start()` (`initial_sets` replica sets), grow with `add_replica_sets()`, stop with `close()`
    (always)."""

    workdir: Path
    #: Each host's CPU share in cores (`Network(cpu=...)`); None: hosts share every core.
    cpu: float | None = None
    #: Replica sets `start()` starts (more with `add_replica_sets`).
    initial_sets: int = 1
    #: Which workers each replica set runs.
    workers: tuple[str, ...] = ("notify", "pay", "gateway", "identity")
    net: Network | None = None
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    procs: dict[str, Proc] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    tenant: Tenant | None = None
    replica_sets: int = 0
    balancer_port: int = 0
    sms_port: int = 0

    # -- life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> ScaleOut:
        try:
            self.net = Network(cpu=self.cpu).start()
            bridge = self.net.bridge_address
            self.postgres = PostgresServer(host=bridge, clients=self.net.subnet, max_connections=500).start()
            self.redis = RedisServer(host=bridge).start()
            self.databases = asyncio.run(self._create_databases())
            self.balancer_port, self.sms_port = free_port(bridge), free_port(bridge)
            self.env = self._environment()
            migrated = subprocess.run([*GAAP, "migrate"], env=self.env, cwd=ROOT, capture_output=True, timeout=180)
            if migrated.returncode != 0:
                raise RuntimeError(f"gaap migrate failed:\n{(migrated.stdout + migrated.stderr).decode()[-3000:]}")
            self.tenant = asyncio.run(
                load_tenant.seed(self.gateway_settings(), name="Scale-out", actor="scaleout", pay=PAY_SETTINGS)
            )
            # Identity needs a live Notify key in production (it makes its code template and sends codes through
            # notify).
            self.env["IDENTITY_NOTIFY_API_KEY"] = self.tenant.manage_key
            self._start_fake_sms()
            self.add_replica_sets(self.initial_sets)
            load_tenant.make_sms_template(self.balancer_url, self.tenant, name="Scale-out text", timeout=20)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every process (newest first), the servers, then remove the hosts; safe after a partial start."""
        stop_all(list(self.procs.values()))
        self.procs.clear()
        for server in (self.redis, self.postgres):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()
        self.redis = self.postgres = None
        if self.net is not None:
            self.net.close()
            self.net = None

    def add_replica_sets(self, count: int = 1) -> None:
        """`count` more hosts per API and worker role, started side by side; the balancer then spreads over every
        set's gateway."""
        assert self.net is not None
        sets = range(self.replica_sets, self.replica_sets + count)
        services = [self._api(name, index) for index in sets for name in SERVICES]
        wait_ready([(proc, self.url(proc.name, "/readyz")) for proc in services])
        if self.replica_sets == 0:  # the sets share the databases: one push reaches every replica
            assert self.tenant is not None
            upstreams = {name: self.url(f"{name}-0") for name in SERVICES}
            outcome = asyncio.run(load_tenant.push(self.gateway_settings(), upstreams, self.tenant))
            if set(outcome) != {"delivered"}:
                raise RuntimeError(f"the tenant did not reach every service: {outcome}")
        gateways = [self._api("gateway", index) for index in sets]
        workers = [self._worker(name, index) for index in sets for name in self.workers]
        wait_ready([(proc, self.url(proc.name, "/readyz")) for proc in gateways])
        wait_ready([(proc, self.url(proc.name, "/readyz", PROBE_PORT)) for proc in workers])
        self.replica_sets += count
        self.restart_balancer()

    def restart_balancer(self, sets: int | None = None) -> None:
        """The balancer in front of the first `sets` gateways (default: all), on the same address as before."""
        assert self.net is not None
        count = self.replica_sets if sets is None else sets
        if "balancer" in self.procs:
            self.procs.pop("balancer").stop()
        backends = [f"{self.net.address(f'gateway-{i}')}:{API_PORT}" for i in range(count)]
        listen = f"{self.net.bridge_address}:{self.balancer_port}"
        argv = [sys.executable, "-m", "bench.balancer", "--listen", listen, *backends]
        proc = self.procs["balancer"] = Proc("balancer", argv, self.env, self.workdir / "balancer.log", _dies())
        proc.start()
        wait_ready([(proc, f"{self.balancer_url}/healthz")])

    # -- processes -----------------------------------------------------------------------------------------------

    def _host_proc(self, host: str, args: list[str], index: int) -> Proc:
        assert self.net is not None
        self.net.add_host(host)
        argv = self.net.command(host, [*GAAP, *args])
        env = {**self.env, **self.service_urls(index)}
        proc = Proc(host, argv, env, self.workdir / f"{host}.log", self.net.preexec(host, _dies()))
        self.procs[host] = proc
        return proc.start()

    def _api(self, component: str, index: int) -> Proc:
        args = ["serve", component, "--host", "0.0.0.0", "--port", str(API_PORT)]
        return self._host_proc(f"{component}-{index}", args, index)

    def _worker(self, component: str, index: int) -> Proc:
        return self._host_proc(
            f"{component}-worker-{index}", ["worker", component, "--probe-port", str(PROBE_PORT)], index
        )

    def _start_fake_sms(self) -> None:
        assert self.net is not None
        bridge = self.net.bridge_address
        store = self.workdir / "sms"
        argv = [sys.executable, "-m", "gaap.embedded.fake_sms", "--host", bridge, "--port", str(self.sms_port)]
        argv += ["--store", str(store), "--receipt-delay", "0.5", "--log-level", "WARNING"]
        argv += ["--receipt-url", f"{self.balancer_url}/notifications/sms/{{provider}}"]
        proc = self.procs["fake-sms"] = Proc("fake-sms", argv, self.env, self.workdir / "fake-sms.log", _dies())
        proc.start()
        wait_ready([(proc, f"http://{bridge}:{self.sms_port}/stats")])

    # -- configuration -------------------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """Production settings, as `deploy/envfile.py` makes them for an operator, plus the servers' addresses (the
        services' URLs differ per replica set: `service_urls`)."""
        assert self.redis is not None
        assert self.net is not None
        secrets = {name: value for name, value in generate("so").items() if value is not None}
        password = secrets["GATEWAY_CSRF_SECRET"][:24]
        sms_credentials = ",".join(f"{p}={p}:{password}" for p in SMS_PROVIDERS)
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update(secrets)
        env.update(
            {
                "GAAP_ENV": "production",
                "GAAP_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                "GAAP_REDIS_URL": self.redis.url,
                "GAAP_LOG_JSON": "true",
                "GAAP_LOG_LEVEL": "WARNING",
                "GAAP_DATA_DIR": str(self.workdir),
                "PYTHONUNBUFFERED": "1",
                "NOTIFY_SMS_PROVIDER_URL": f"http://{self.net.bridge_address}:{self.sms_port}",
                "NOTIFY_SMS_PROVIDER_CREDENTIALS": sms_credentials,
                "NOTIFY_SMS_WEBHOOK_CREDENTIALS": sms_credentials,
                "FAKE_SMS_AUTH": sms_credentials,
                "IDENTITY_ALLOW_SANDBOX_SOURCES": "true",
            }
        )
        env.update({f"{name.upper()}_DATABASE_URL": url for name, url in self.databases.items()})
        return env

    def service_urls(self, index: int) -> dict[str, str]:
        """A replica set's gateway (API and worker) calls the services of its own set (see the module's docstring).
        The services' hosts exist once the set's services are started, which is before its gateway."""
        assert self.net is not None
        return {
            f"GATEWAY_{name.upper()}_URL": f"http://{self.net.address(f'{name}-{index}')}:{API_PORT}"
            for name in SERVICES
            if f"{name}-{index}" in self.net.hosts
        }

    def gateway_settings(self) -> GatewaySettings:
        env = self.env
        return GatewaySettings(
            database_url=self.databases["gateway"],
            redis_url=env["GAAP_REDIS_URL"],
            principal_keys=SecretStr(env["GATEWAY_PRINCIPAL_KEYS"]),
            key_encryption_keys=SecretStr(env["GATEWAY_KEY_ENCRYPTION_KEYS"]),
            key_hash_pepper=SecretStr(env["GATEWAY_KEY_HASH_PEPPER"]),
            pay_key_checksum_secret=SecretStr(env["GATEWAY_PAY_KEY_CHECKSUM_SECRET"]),
            csrf_secret=SecretStr(env["GATEWAY_CSRF_SECRET"]),
        )

    async def _create_databases(self) -> dict[str, str]:
        assert self.postgres is not None
        conn = await asyncpg.connect(self.postgres.dsn)
        try:
            for name in COMPONENTS:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        base = f"postgresql+asyncpg://postgres@{self.postgres.host}:{self.postgres.port}"
        return {name: f"{base}/{name}" for name in COMPONENTS}

    # -- what tests and the bench use ----------------------------------------------------------------------------

    @property
    def balancer_url(self) -> str:
        assert self.net is not None
        return f"http://{self.net.bridge_address}:{self.balancer_port}"

    def url(self, host: str, path: str = "", port: int = API_PORT) -> str:
        assert self.net is not None
        return f"http://{self.net.address(host)}:{port}{path}"

    def database(self, component: str) -> Database:
        return Database(self.databases[component], pool_size=2)

    def check_alive(self) -> None:
        for proc in self.procs.values():
            proc.check_alive()

    def process_groups(self) -> dict[str, int]:
        """Every process group by name, for `bench.load.LoadMeter`."""
        groups = {name: proc.pid for name, proc in self.procs.items()}
        if self.postgres is not None:
            groups["postgres"] = self.postgres.pid
        if self.redis is not None:
            groups["redis"] = self.redis.pid
        return groups


def _dies() -> Callable[[], None]:
    die = die_with_parent(signal.SIGTERM)
    return die if die is not None else (lambda: None)
