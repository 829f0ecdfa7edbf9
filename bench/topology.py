"""The production topology on loopback: PostgreSQL, Redis, the bench upstreams and the gateway, each its own process.

Everything is started here and everything is stopped here, on success, failure, Ctrl-C or SIGTERM:

- PostgreSQL and Redis are the kernel's throwaway servers (`gaap.embedded`), which die with us even if we are
  SIGKILLed (parent-death signal).
- The upstreams and the gateway are uvicorn masters with worker processes. Each master is started in its own
  session with a parent-death SIGTERM, so it is the leader of a process group holding its workers; stopping it
  sends SIGTERM to the master (uvicorn stops its workers), then SIGKILL to that group for anything left. Nothing
  is ever stopped by name.

The processes run as production would: `GAAP_ENV=production` with freshly generated secrets (the kernel refuses
development defaults there), JSON logs at INFO, uvloop and httptools, the gateway through `gaap serve gateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx
import jwt
from pydantic import SecretStr

from bench.upstream import AUDIENCE, BenchBase
from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.embedded import die_with_parent
from gaap.embedded.ports import free_port
from gaap.embedded.postgres_server import PostgresServer
from gaap.embedded.redis_server import RedisServer
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.demo_templates import NotifyKeyAuth
from gateway.keys.service import KeyMaterial, create_key
from gateway.settings import GatewaySettings
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_MIGRATIONS = ROOT / "gateway" / "migrations"
NOTIFY_MIGRATIONS = ROOT / "services" / "notify" / "migrations"
PUBLIC_BASE_URL = "https://gaap.bench.invalid"
#: Notify accepts a JWT whose `iat` is within this many seconds of the gateway's clock.
NOTIFY_SKEW_SECONDS = 30
#: The longest wrk run one replayed Notify token can cover (see `Topology.notify_authorization`).
MAX_TOKEN_SECONDS = 2 * NOTIFY_SKEW_SECONDS - 6
_PORT_ATTEMPTS = 3
#: The real notify's template for the send scenario: a personalised subject, markdown, and a conditional.
EMAIL_TEMPLATE = {
    "name": "Bench appointment confirmation",
    "type": "email",
    "subject": "Your appointment on ((date))",
    "body": "# Hello ((name))\n\nYour appointment is on ((date)) at ((place)).\n\n"
    "((urgent??Please bring your letter.))\n\n* Arrive 10 minutes early\n* Bring photo ID",
}


def _keyring(kid: str) -> str:
    return format_keyring([(kid, secrets.token_bytes(32))])


def gateway_target(workers: int, upstream: str = "insert") -> str:
    """The target name of the gateway layout with `workers` workers in front of `upstream` ("insert": the bench
    upstream; "notify": the real notify)."""
    return f"gateway-{workers}w" if upstream == "insert" else f"gateway-{upstream}-{workers}w"


def notify_authorization(service_id: uuid.UUID, key_secret: str, valid_for: float) -> str:
    """`Bearer <JWT>` for a Notify key, as a Notify client signs it, accepted for at least `valid_for` s.

    A client signs a fresh token per request; wrk replays one. The gateway accepts an `iat` within 30 s either
    side of its clock, so for a run longer than that the token is dated forward (up to 30 s), never more.
    """
    shift = min(max(0.0, valid_for - (NOTIFY_SKEW_SECONDS - 5)), NOTIFY_SKEW_SECONDS - 1)
    if valid_for > MAX_TOKEN_SECONDS:
        raise ValueError(f"a replayed Notify token cannot cover {valid_for:g}s; use a shorter --duration")
    claims = {"iss": str(service_id), "iat": int(time.time() + shift)}
    return "Bearer " + jwt.encode(claims, key_secret, algorithm="HS256")


def log_problems(workdir: Path) -> Counter[str]:
    """Warning-or-worse lines the servers logged in `workdir/*.log`, counted by server and event: a failed request
    in wrk's count says only that something answered non-2xx, the servers' logs say what."""
    problems: Counter[str] = Counter()
    for path in sorted(workdir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    problems[f"{path.stem}: {line.strip()[:160]}"] += 1
                continue
            if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
                problems[f"{path.stem}: {entry.get('level')}: {str(entry.get('event'))[:160]}"] += 1
    return problems


@dataclass(frozen=True)
class Seeded:
    """The tenant the gateway scenarios authenticate as: one live Notify key of one service, and a second live key
    allowed to manage templates (to make the real notify's template through its own API)."""

    organisation_id: uuid.UUID
    service_id: uuid.UUID
    key_secret: str
    manage_key: str


class Child:
    """One server process of the topology (a uvicorn master and its workers), logged to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group (with its workers), out of reach of our Ctrl-C
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the master, then SIGKILL to its process group (its workers) for whatever is left."""
        pgid = self.proc.pid  # start_new_session made the master its group's leader
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _wait_ready(child: Child, url: str, timeout: float = 30.0) -> None:
    """Until `url` answers 200 (a uvicorn master binds before its workers can answer)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        child.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer {url} within {timeout:g}s ({last}):\n{child.log_tail()}")


class Topology:
    """Start with `with Topology(workdir) as topology:`; then `start_gateway(workers)` for each layout to measure."""

    def __init__(self, workdir: Path, *, upstream_workers: int = 2, upstream_db_pool_size: int | None = None) -> None:
        self.workdir = workdir
        self.upstream_workers = upstream_workers
        #: None: the kernel's default (`ComponentSettings.db_pool_size`), as a service deployed as-is would have.
        self.upstream_db_pool_size = upstream_db_pool_size
        self.master_keys = _keyring("bench")
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.children: dict[str, Child] = {}
        self.ports: dict[str, int] = {}
        self.seeded: Seeded | None = None
        self.bench_db = ""
        self.notify_db = ""
        #: The real notify's email template (made through its API once notify is up), for the send scenario.
        self.email_template_id: str | None = None
        self.settings: GatewaySettings | None = None

    # -- life cycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> Topology:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        self.postgres = PostgresServer().start()
        self.redis = RedisServer().start()
        gateway_db, bench_db, self.notify_db = asyncio.run(self._create_databases())
        self.settings = GatewaySettings(
            database_url=gateway_db,
            redis_url=self.redis.url,
            principal_keys=SecretStr(self.master_keys),
            key_encryption_keys=SecretStr(_keyring("bench")),
            key_hash_pepper=SecretStr(secrets.token_urlsafe(32)),
            pay_key_checksum_secret=SecretStr(secrets.token_urlsafe(32)),
            csrf_secret=SecretStr(secrets.token_urlsafe(32)),
        )
        self.seeded = asyncio.run(self._seed(self.settings, bench_db))
        self.bench_db = bench_db
        self._start_upstream("bare")
        self._start_upstream("insert")

    def close(self) -> None:
        """Stop everything that was started, in reverse order; safe to call twice and after a partial start."""
        for name in reversed(list(self.children)):
            with contextlib.suppress(Exception):
                self.children.pop(name).stop()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.stop()
            self.redis = None
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()
            self.postgres = None

    # -- data ------------------------------------------------------------------------------------------------

    async def _create_databases(self) -> tuple[str, str, str]:
        import asyncpg

        assert self.postgres is not None
        names = ("gateway", "bench", "notify")
        conn = await asyncpg.connect(self.postgres.dsn)
        try:
            for name in names:
                await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        base = f"postgresql+asyncpg://postgres@{self.postgres.host}:{self.postgres.port}"
        gateway, bench, notify = (f"{base}/{name}" for name in names)
        return gateway, bench, notify

    async def _seed(self, settings: GatewaySettings, bench_db: str) -> Seeded:
        """The gateway's schema (its real migrations), one tenant with a live Notify key, and the bench table."""
        await upgrade(GATEWAY_MIGRATIONS, settings.database_url)
        material = KeyMaterial.from_settings(settings)
        db = Database(settings.database_url, pool_size=1)
        try:
            async with db.write_session() as session:
                org = await tenants.create_organisation(session, name="Bench department", actor="bench")
                service = await tenants.create_service(
                    session, organisation_id=org.id, name="Bench service", restricted=False, actor="bench"
                )
                # Notify's defaults are 3,000 a minute and a few hundred a day: the send-path scenarios must measure
                # the limiters, not hit them.
                await tenants.update_service(
                    session, service.id, actor="bench", rate_limit=1_000_000,
                    settings={"notify": {"email_message_limit": 10_000_000, "sms_message_limit": 10_000_000}},
                )  # fmt: skip
                _row, full_key = await create_key(
                    session, material, service_id=service.id, api="notify", name="bench", key_type="normal",
                    actor="bench",
                )  # fmt: skip
                _row, manage_key = await create_key(
                    session, material, service_id=service.id, api="notify", name="bench templates",
                    key_type="normal", scopes=["manage_templates"], actor="bench",
                )  # fmt: skip
        finally:
            await db.dispose()
        bench = Database(bench_db, pool_size=1)
        try:
            async with bench.engine.begin() as conn:
                await conn.run_sync(BenchBase.metadata.create_all)
        finally:
            await bench.dispose()
        # A Notify key is `{name}-{service_id}-{secret}`; clients sign with the last 36 characters.
        return Seeded(organisation_id=org.id, service_id=service.id, key_secret=full_key[-36:], manage_key=manage_key)

    # -- processes -------------------------------------------------------------------------------------------

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GAAP_", "GATEWAY_", "BENCH_UPSTREAM_"))}
        env.update(
            {
                "GAAP_ENV": "production",
                "GAAP_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
                "GAAP_LOG_JSON": "true",
                "GAAP_LOG_LEVEL": "INFO",
                "GAAP_DATA_DIR": str(self.workdir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.redis is not None:
            env["GAAP_REDIS_URL"] = self.redis.url
        env.update(extra)
        return env

    def _start(self, name: str, argv: Callable[[int], list[str]], env: dict[str, str], ready_path: str) -> None:
        """Start a server on a free port and wait until it answers; another process may take the port between
        our choosing it and the server binding it, so that case is retried with a fresh port."""
        for attempt in range(_PORT_ATTEMPTS):
            port = self.ports[name] = free_port()
            child = Child(name, argv(port), self._env(env), self.workdir / f"{name}.log")
            self.children[name] = child
            try:
                _wait_ready(child, f"http://127.0.0.1:{port}{ready_path}")
                return
            except RuntimeError:
                child.stop()
                del self.children[name]
                if "address already in use" not in child.log_tail().lower() or attempt + 1 == _PORT_ATTEMPTS:
                    raise

    def _start_upstream(self, app: str) -> None:
        kid, master = parse_keyring(self.master_keys)[0]
        env = {
            "BENCH_UPSTREAM_DATABASE_URL": self.bench_db,
            # A service holds only the key derived for its own audience, never the gateway's master key.
            "BENCH_UPSTREAM_PRINCIPAL_KEYS": format_keyring([(kid, derive_audience_key(master, AUDIENCE))]),
        }
        if self.upstream_db_pool_size is not None:
            env["BENCH_UPSTREAM_DB_POOL_SIZE"] = str(self.upstream_db_pool_size)
        serve = [sys.executable, "-m", "bench.upstream", app, "--workers", str(self.upstream_workers)]
        self._start(app, lambda port: [*serve, "--port", str(port)], env, "/" if app == "bare" else "/healthz")

    def start_notify(self, workers: int) -> None:
        """The real notify, as `gaap serve notify` runs it, on its migrated PostgreSQL database, with the seeded
        tenant pushed to it through the gateway's outbox as production pushes it. Its delivery worker is not
        started: the scenario measures accepting a send (a committed row, then the queue told), not delivering."""
        assert self.settings is not None
        asyncio.run(upgrade(NOTIFY_MIGRATIONS, self.notify_db))
        kid, master = parse_keyring(self.master_keys)[0]
        env = {
            "NOTIFY_DATABASE_URL": self.notify_db,
            "NOTIFY_PRINCIPAL_KEYS": format_keyring([(kid, derive_audience_key(master, "notify"))]),
            "NOTIFY_ENCRYPTION_KEYS": _keyring("bench"),
        }
        serve = [sys.executable, "-m", "gaap.cli.main", "serve", "notify", "--workers", str(workers)]
        self._start("notify", lambda port: [*serve, "--port", str(port)], env, "/readyz")
        asyncio.run(self._push_tenant())

    async def _push_tenant(self, component: str = "notify", service_ids: list[uuid.UUID] | None = None) -> None:
        """Deliver the pending pushes of `service_ids` (default: the seeded service) to `component`, which must
        be running under that name, as the gateway's outbox delivers them; each service must arrive."""
        assert self.settings is not None
        assert self.seeded is not None
        db = Database(self.settings.database_url, pool_size=1)
        pusher = Pusher(db, {component: self.url(component)}, self.settings.principal_signer())
        try:
            for service_id in service_ids or [self.seeded.service_id]:
                outcome = await pusher.deliver_pending(service_id)
                if outcome.get("delivered") != 1:
                    log = self.children[component].log_tail()
                    raise RuntimeError(f"the tenant did not reach {component}: {outcome}\n{log}")
        finally:
            await pusher.close()
            await db.dispose()

    def make_email_template(self, gateway: str) -> str:
        """The email template of the send scenario, made through the gateway with the template-managing key, as a
        department would: a subject and a body with placeholders and a conditional."""
        assert self.seeded is not None
        if self.email_template_id is None:
            with httpx.Client(base_url=self.url(gateway), auth=NotifyKeyAuth(self.seeded.manage_key)) as client:
                made = client.post("/v2/manage-template", json=EMAIL_TEMPLATE, timeout=10)
            if made.status_code != 201:
                raise RuntimeError(f"notify refused the bench template: {made.status_code} {made.text[:500]}")
            self.email_template_id = made.json()["id"]
        return self.email_template_id

    def start_gateway(self, workers: int, upstream: str = "insert", extra_env: dict[str, str] | None = None) -> str:
        """Start a gateway with `workers` uvicorn workers, exactly as `gaap serve gateway` runs it, routing notify's
        paths to `upstream` ("insert", the bench upstream, or "notify", the real one), or pay's paths when
        `upstream` is "pay" (the real pay), or identity's when it is "identity" (the real identity); returns its
        target name (`gateway_target`). Several gateways run side by side, idle when not measured, so scenarios on
        different layouts can be measured back to back. `extra_env`:
        more `GATEWAY_*` settings (a load balancer's address in `GATEWAY_TRUSTED_PROXIES`, say)."""
        assert self.settings is not None
        settings = self.settings
        name = gateway_target(workers, upstream)
        # Components not measured get closed ports, so a stray request fails fast instead of reaching something else.
        urls = {component: f"http://127.0.0.1:{free_port()}" for component in ("notify", "pay", "identity")}
        urls[upstream if upstream in ("pay", "identity") else "notify"] = self.url(upstream)
        env = {
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_NOTIFY_URL": urls["notify"],
            "GATEWAY_PAY_URL": urls["pay"],
            "GATEWAY_IDENTITY_URL": urls["identity"],
            "GATEWAY_PRINCIPAL_KEYS": settings.principal_keys.get_secret_value(),
            "GATEWAY_KEY_ENCRYPTION_KEYS": settings.key_encryption_keys.get_secret_value(),
            "GATEWAY_KEY_HASH_PEPPER": settings.key_hash_pepper.get_secret_value(),
            "GATEWAY_PAY_KEY_CHECKSUM_SECRET": settings.pay_key_checksum_secret.get_secret_value(),
            "GATEWAY_CSRF_SECRET": settings.csrf_secret.get_secret_value(),
            **(extra_env or {}),
        }
        serve = [sys.executable, "-m", "gaap.cli.main", "serve", "gateway", "--workers", str(workers)]
        self._start(name, lambda port: [*serve, "--port", str(port)], env, "/healthz")
        return name

    # -- what scenarios need ---------------------------------------------------------------------------------

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.ports[target]}"

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check_alive()

    def notify_authorization(self, valid_for: float) -> str:
        """`Bearer <JWT>` for the seeded key, accepted for at least `valid_for` s (`notify_authorization`)."""
        assert self.seeded is not None
        return notify_authorization(self.seeded.service_id, self.seeded.key_secret, valid_for)

    def log_problems(self) -> Counter[str]:
        """Warning-or-worse lines the servers logged (`log_problems`)."""
        return log_problems(self.workdir)

    def process_groups(self) -> dict[str, int]:
        """Our servers by name, each the leader of its own process group: what `bench.load` counts as ours."""
        groups = {name: child.proc.pid for name, child in self.children.items()}
        if self.postgres is not None:
            groups["postgres"] = self.postgres.pid
        if self.redis is not None:
            groups["redis"] = self.redis.pid
        return groups
