"""The Pay full-flow bench's topology and its payer: the loopback topology (`bench.topology`) with the real pay
behind the gateway, and an asyncio load driver that pays as a browser does.

    harness (N payers) ──► gateway (2 workers) ──► pay API (`gaap serve pay`, 2 workers) ──► PostgreSQL, Redis

- `PayTopology`: `Topology` plus pay, as `gaap serve pay` runs it, on its own PostgreSQL database migrated with its
  real migrations, and `services` tenants (one organisation, each service with a Pay test key, so on the sandbox)
  pushed to it through the gateway's outbox. Pay's worker is not started: a payment is `success` when the payer
  confirms (the capture is queued for the worker, which the flow does not wait for).
- Pay limits `POST /v1/payments` per account (pay spec §4.4: 40 a second at the elevated tier), so the load is
  spread over several services, as many departments would spread it.
- The gateway trusts the harness as its load balancer (`GATEWAY_TRUSTED_PROXIES`), and every payer comes from an
  address of its own in `X-Forwarded-For`: the pages are rate-limited per client address, and payers come from
  many addresses, not from one.
- `pay_once`: one payment, end to end, as a browser without JavaScript makes it: the API create (the service's
  server), the `next_url` token exchange, the card page, the card form, the confirm page, Confirm, and `/return`,
  which must send the payer to the payment's `return_url`. Each step's status and redirect are checked.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import orjson
from sqlalchemy import text

from bench.topology import Topology
from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.keys.service import KeyMaterial, create_key
from gateway.tenants import service as tenants
from services.pay.payments.states import Status, public_state

ROOT = Path(__file__).resolve().parents[1]
PAY_MIGRATIONS = ROOT / "services" / "pay" / "migrations"
GAAP_SERVE = [sys.executable, "-m", "gaap.cli.main", "serve"]
#: The sandbox's card that authorises without 3-D Secure (pay spec §13.5).
SUCCESS_CARD = "4444333322221111"
#: Where each payment sends the payer back: never fetched (it is the service's page, not ours).
RETURN_URL = "https://service.bench.invalid/payment-complete"
#: The steps of one payment, in order; latencies and errors are reported by these names. "auth waiting" happens
#: only when the provider outlasts the card page's wait (`PAY_PAGE_AUTH_WAIT_MS`): "Check again" until it is done.
STEPS = ("create", "token", "card page", "card details", "auth waiting", "confirm page", "confirm", "return")
#: The one transition into `success`: the payer's Confirm (or a delayed capture's capture request).
SUCCESS_ENTRY = Status.CAPTURE_APPROVED.value
#: A payer presses "Check again" on the `auth_waiting` page this often, this many times at most.
AUTH_WAIT_POLL = 0.2
AUTH_WAIT_POLLS = 75
#: The payer's page requests of a payment that needs no "Check again" (the API's create comes before them).
PAGE_STEPS = ("token", "card page", "card details", "confirm page", "confirm", "return")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def card_form(csrf_token: str) -> dict[str, str]:
    """A complete, valid card form: the billing address and email are sent whether or not the account asks for
    them (pay ignores fields its form does not show)."""
    return {
        "csrf_token": csrf_token,
        "cardNo": SUCCESS_CARD,
        "expiryMonth": "12",
        "expiryYear": "39",
        "cardholderName": "Ada Lovelace",
        "cvc": "739",
        "addressLine1": "1 Example Street",
        "addressLine2": "",
        "addressCity": "Cardiff",
        "addressPostcode": "CF10 1AA",
        "addressCountry": "GB",
        "email": "ada.lovelace@example.org",
    }


def create_body(index: int) -> bytes:
    return orjson.dumps(
        {
            "amount": 2500 + index % 100,
            "reference": f"BENCH-{index}",
            "description": "Bench parking permit",
            "return_url": RETURN_URL,
        }
    )


def payer_address(index: int) -> str:
    """A distinct client address per payer (10.0.0.0/8: 16 million of them)."""
    index %= 1 << 24
    return f"10.{index >> 16}.{(index >> 8) & 255}.{index & 255}"


def csrf_token_of(html: str) -> str | None:
    found = _CSRF.search(html)
    return found.group(1) if found else None


def cookies_of(set_cookie: list[str], into: dict[str, str]) -> None:
    """Keep each `Set-Cookie`'s name and value, as a browser does on loopback (the cookies are `Secure`, which
    aiohttp's jar would not send over `http://`, while Chromium does on 127.0.0.1)."""
    for header in set_cookie:
        name, _, rest = header.partition("=")
        into[name.strip()] = rest.split(";", 1)[0].strip()


def path_of(location: str) -> str:
    """The path (and query) of a redirect or link, whatever its origin: pay's links carry the platform's public
    origin, which the harness reaches at the gateway's loopback address, as a DNS name would resolve to it."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class StepFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


class PayTopology(Topology):
    """`with PayTopology(workdir, services=16) as topology:`, then `start_pay(workers)` and
    `start_gateway(n, "pay", extra_env=topology.gateway_env)`."""

    def __init__(self, workdir: Path, *, upstream_workers: int = 2, services: int = 16) -> None:
        super().__init__(workdir, upstream_workers=upstream_workers)
        self.service_count = services
        self.pay_db = ""
        #: (service id, full Pay test key) per seeded service.
        self.pay_keys: list[tuple[uuid.UUID, str]] = []
        #: The gateway trusts the harness as its load balancer, which names each payer in `X-Forwarded-For`.
        self.gateway_env = {"GATEWAY_TRUSTED_PROXIES": "127.0.0.1"}

    def start(self) -> None:
        super().start()
        self.pay_db = asyncio.run(self._create_pay_database())
        asyncio.run(upgrade(PAY_MIGRATIONS, self.pay_db))
        self.pay_keys = asyncio.run(self._seed_pay_services())

    async def _create_pay_database(self) -> str:
        import asyncpg

        assert self.postgres is not None
        conn = await asyncpg.connect(self.postgres.dsn)
        try:
            await conn.execute("CREATE DATABASE pay")
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@{self.postgres.host}:{self.postgres.port}/pay"

    async def _seed_pay_services(self) -> list[tuple[uuid.UUID, str]]:
        """One organisation with `service_count` unrestricted services at Pay's elevated rate tier, each with a
        Pay test key, made through the gateway's own service layer (their pushes wait in its outbox)."""
        assert self.settings is not None
        material = KeyMaterial.from_settings(self.settings)
        db = Database(self.settings.database_url, pool_size=1)
        keys: list[tuple[uuid.UUID, str]] = []
        try:
            async with db.write_session() as session:
                org = await tenants.create_organisation(session, name="Pay bench department", actor="bench")
                for number in range(self.service_count):
                    service = await tenants.create_service(
                        session, organisation_id=org.id, name=f"Pay bench service {number}", restricted=False,
                        actor="bench",
                    )  # fmt: skip
                    await tenants.update_service(session, service.id, actor="bench", pay_rate_tier="elevated")
                    _row, key = await create_key(
                        session, material, service_id=service.id, api="pay", name="bench", key_type="test",
                        actor="bench",
                    )  # fmt: skip
                    keys.append((service.id, key))
        finally:
            await db.dispose()
        return keys

    def start_pay(self, workers: int) -> None:
        """The real pay API, as `gaap serve pay` runs it, with every seeded service pushed to it."""
        kid, master = parse_keyring(self.master_keys)[0]
        env = {
            "PAY_DATABASE_URL": self.pay_db,
            # A service holds only the key derived for its own audience, never the gateway's master key.
            "PAY_PRINCIPAL_KEYS": format_keyring([(kid, derive_audience_key(master, "pay"))]),
            "PAY_TOKEN_SECRET": secrets.token_urlsafe(32),
            "PAY_ENCRYPTION_KEYS": format_keyring([("bench", secrets.token_bytes(32))]),
        }
        serve = [*GAAP_SERVE, "pay", "--workers", str(workers)]
        self._start("pay", lambda port: [*serve, "--port", str(port)], env, "/readyz")
        asyncio.run(self._push_tenant("pay", [service_id for service_id, _key in self.pay_keys]))


# -- the payer ---------------------------------------------------------------------------------------------------


@dataclass
class FlowStats:
    """What the payers saw: completed payments with their times, step latencies in the measured window, errors."""

    #: Every payment the API created (201), warm-up included: the ledger checks each one.
    created: list[str] = field(default_factory=list)
    #: (payment id, `time.monotonic()` when `/return` sent the payer to the return_url).
    completed: list[tuple[str, float]] = field(default_factory=list)
    #: step -> latencies (s) of the requests that started inside the measured window.
    latencies: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})
    #: "step: what went wrong" -> count, over the whole run.
    errors: Counter[str] = field(default_factory=Counter)
    #: payment id -> the Pay key of the service that created it (to read it back through the API).
    owners: dict[str, str] = field(default_factory=dict)
    #: The first few failures in full, for diagnosis.
    failures: list[str] = field(default_factory=list)
    #: Times a payer saw `auth_waiting` (the provider call outlasted the page's wait).
    auth_waits: int = 0
    window: tuple[float, float] = (0.0, 0.0)

    def in_window(self, moment: float) -> bool:
        start, end = self.window
        return start <= moment < end

    def completed_in_window(self) -> int:
        return sum(1 for _id, at in self.completed if self.in_window(at))


@dataclass
class Payer:
    """One browser: its own cookies and client address, and the pooled connections of the harness."""

    session: aiohttp.ClientSession
    base: str
    stats: FlowStats
    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    async def request(
        self, step: str, method: str, path: str, *, data: dict[str, str] | None = None, expect: tuple[int, ...]
    ) -> tuple[int, str, str]:
        """(status, Location, body) of one page request, its status one of `expect`; its latency counted in the
        window."""
        headers = {"X-Forwarded-For": self.address}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        began = time.monotonic()
        try:
            async with self.session.request(
                method, self.base + path, data=data, headers=headers, allow_redirects=False
            ) as answer:
                body = await answer.text()
                status, location = answer.status, answer.headers.get("Location", "")
                cookies_of(answer.headers.getall("Set-Cookie", []), self.cookies)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StepFailed(step, f"no answer: {type(exc).__name__}") from exc
        if self.stats.in_window(began):
            self.stats.latencies[step].append(time.monotonic() - began)
        if status not in expect:
            raise StepFailed(step, f"{status} (expected {' or '.join(map(str, expect))}) {body[:120]!r}")
        return status, location, body


async def create_payment(
    session: aiohttp.ClientSession, base: str, key: str, index: int, stats: FlowStats
) -> tuple[str, str]:
    """`POST /v1/payments` as the service's server makes it: (payment id, the `next_url` path)."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    began = time.monotonic()
    try:
        async with session.post(f"{base}/v1/payments", data=create_body(index), headers=headers) as answer:
            raw = await answer.read()
            status = answer.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise StepFailed("create", f"no answer: {type(exc).__name__}") from exc
    if stats.in_window(began):
        stats.latencies["create"].append(time.monotonic() - began)
    if status != 201:
        raise StepFailed("create", f"{status} {raw[:160]!r}")
    created = orjson.loads(raw)
    stats.created.append(created["payment_id"])
    stats.owners[created["payment_id"]] = key
    return created["payment_id"], path_of(created["_links"]["next_url"]["href"])


async def pay_once(session: aiohttp.ClientSession, base: str, key: str, index: int, stats: FlowStats) -> str:
    """One payment from create to the return_url; returns its id, or raises `StepFailed` naming the step."""
    payment_id, next_url = await create_payment(session, base, key, index, stats)
    payer = Payer(session, base, stats, payer_address(index))
    card_page = f"/card_details/{payment_id}"
    _, location, _ = await payer.request("token", "GET", next_url, expect=(303,))
    if path_of(location) != card_page:
        raise StepFailed("token", f"redirected to {location!r}")
    _, _, html = await payer.request("card page", "GET", card_page, expect=(200,))
    token = csrf_token_of(html)
    if token is None:
        raise StepFailed("card page", "no CSRF token on the page")
    _, location, _ = await payer.request("card details", "POST", card_page, data=card_form(token), expect=(303,))
    location = await _await_authorisation(payer, card_page, path_of(location))
    if location != f"{card_page}/confirm":
        raise StepFailed("card details", f"redirected to {location!r}")
    _, _, html = await payer.request("confirm page", "GET", location, expect=(200,))
    token = csrf_token_of(html)
    if token is None:
        raise StepFailed("confirm page", "no CSRF token on the page")
    _, location, _ = await payer.request("confirm", "POST", location, data={"csrf_token": token}, expect=(303,))
    if path_of(location) != f"/return/{payment_id}":
        raise StepFailed("confirm", f"redirected to {location!r}")
    _, location, _ = await payer.request("return", "GET", path_of(location), expect=(303,))
    if location != RETURN_URL:
        raise StepFailed("return", f"redirected to {location!r}, not the return_url")
    stats.completed.append((payment_id, time.monotonic()))
    return payment_id


async def _await_authorisation(payer: Payer, card_page: str, location: str) -> str:
    """When the provider outlasted the page's wait, the payer is on `auth_waiting`: they press "Check again" until
    it sends them on (a 303 to the payment's current page)."""
    waiting = f"{card_page}/auth_waiting"
    for _ in range(AUTH_WAIT_POLLS):
        if location != waiting:
            return location
        payer.stats.auth_waits += 1
        await asyncio.sleep(AUTH_WAIT_POLL)
        status, moved, _ = await payer.request("auth waiting", "GET", waiting, expect=(200, 303))
        if status == 303:
            location = path_of(moved)
    raise StepFailed("card details", "still waiting for the provider after 15 s")


# -- the ledger --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayLedger:
    """Every payment the API created, against pay's rows: each completed flow must be `success` with exactly one
    transition into it."""

    created: int
    completed: int
    #: Completed flows whose payment is not `success` in pay's database (or is missing).
    lost: int
    #: Payments that entered `success` more than once.
    duplicated: int
    #: Created payments whose flow failed at a step (counted under the errors by step).
    unfinished: int
    #: Rows no 201 answered for.
    unexpected: int

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unfinished or self.unexpected)


def compare(created: list[str], completed: list[str], rows: dict[str, tuple[str, int]]) -> PayLedger:
    """`rows`: payment id -> (internal status, how many times it entered `success`), read from pay's database."""
    made, done = set(created), set(completed)

    def succeeded(payment_id: str) -> bool:
        row = rows.get(payment_id)
        return row is not None and public_state(row[0]).status == "success" and row[1] >= 1

    return PayLedger(
        created=len(made),
        completed=len(done),
        lost=sum(1 for p in done if not succeeded(p)),
        duplicated=sum(1 for p in made if p in rows and rows[p][1] > 1),
        unfinished=len(made - done),
        unexpected=sum(1 for p in rows if p not in made),
    )


async def read_rows(pay_db: str) -> dict[str, tuple[str, int]]:
    """Every payment in pay's database: its status and its transitions into `success`."""
    db = Database(pay_db, pool_size=1)
    try:
        async with db.read_session() as session:
            result = await session.execute(
                text(
                    "SELECT p.id, p.status, count(e.id) FILTER (WHERE e.status = :entry) FROM payments p "
                    "LEFT JOIN payment_events e ON e.payment_id = p.id GROUP BY p.id, p.status"
                ),
                {"entry": SUCCESS_ENTRY},
            )
            return {row[0]: (row[1], int(row[2])) for row in result.all()}
    finally:
        await db.dispose()
