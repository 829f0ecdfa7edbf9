"""What `make bench` measures: scenarios (one wrk run each) and comparisons (the numbers the targets are on).

A scenario names a *target* (a process of the topology: "bare", "insert", "gateway" in front of the insert
upstream, or "notify": a gateway in front of the real notify; see `bench.topology`), a request, and the load
shape. Scenarios through a gateway are run once per gateway worker count asked for (`--gateway-workers`), so one
run can compare process layouts. A comparison turns two scenarios of the same run into a ratio of throughput or a
difference of median latency (or reads one scenario's p99), with an optional target.

To add a scenario, append to `SCENARIOS` (and, if it has a target, to `COMPARISONS`); see docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from bench.upstream import INSERT_PATH, SEND_PATH

#: A check of one preflight answer (parsed JSON) against the seeded tenant: returns a problem, or None.
Check = Callable[[Any, "Expectations"], str | None]


@dataclass(frozen=True)
class Expectations:
    """What the topology seeded, so a preflight can tell a forwarded, authenticated answer from a fake one."""

    service_id: str
    #: The real notify's email template, once notify is up (scenarios on the "notify" target).
    email_template_id: str | None = None


@dataclass(frozen=True)
class Scenario:
    """One wrk run (per gateway layout when `target` is the gateway); `what` is its line in results.md."""

    key: str
    title: str
    #: "bare", "insert", "gateway" or "notify": which process wrk talks to.
    target: str
    path: str
    method: str = "GET"
    #: The request body, or a function of what was seeded returning it.
    body: bytes | Callable[[Expectations], bytes] = b""
    #: Send a Notify JWT (`Authorization: Bearer`), minted for the seeded key just before each wrk run.
    notify_key: bool = False
    #: None: the run's `--connections`/`--threads`; a number pins it (1 for the latency scenarios).
    connections: int | None = None
    threads: int | None = None
    expect_status: int = 200
    check: Check | None = None
    what: str = ""

    @property
    def through_gateway(self) -> bool:
        return self.target in GATEWAY_TARGETS

    @property
    def upstream(self) -> str:
        """What the gateway routes this scenario's path to: the bench insert upstream or the real notify."""
        return "notify" if self.target == "notify" else "insert"

    def body_for(self, seeded: Expectations) -> bytes:
        return self.body(seeded) if callable(self.body) else self.body


#: The scale-out platform (`bench.scaleout_bench`): namespace hosts behind a round-robin balancer, measured apart.
SCALEOUT_TARGET = "scaleout"

#: The delivery topology (`bench.delivery_bench`): notify's workers, the SMTP sink and its receipts, measured apart.
DELIVERY_TARGET = "delivery"

#: The Pay full-flow topology (`bench.pay_bench`): the real pay behind the gateway, payers driving the pages.
PAY_FLOW_TARGET = "pay-flow"

#: The identity topology (`bench.token_bench`): the real identity behind the gateway, codes minted beforehand.
TOKEN_TARGET = "token"

#: Targets that are a gateway (one per worker count asked for), and what each routes notify's paths to.
GATEWAY_TARGETS = ("gateway", "notify")


@dataclass(frozen=True)
class Comparison:
    """`throughput`: numerator req/s ÷ denominator req/s. `added_p50`: numerator p50 − denominator p50 (ms).
    `p99`: the numerator's own p99 (ms); it has no denominator."""

    title: str
    kind: Literal["throughput", "added_p50", "p99"]
    numerator: str
    denominator: str
    #: ("min", 0.8): at least 0.8; ("max", 0.5): at most 0.5 ms. None: reported, not judged.
    target: tuple[Literal["min", "max"], float] | None = None


def _direct_answer(answer: Any, _: Expectations) -> str | None:
    if not isinstance(answer, dict) or "id" not in answer:
        return f"not an insert answer: {answer!r}"
    if answer.get("service_id") is not None:
        return "the direct request was seen as authenticated"
    return None


def _gateway_answer(answer: Any, seeded: Expectations) -> str | None:
    if not isinstance(answer, dict) or "id" not in answer:
        return f"not an insert answer: {answer!r}"
    if answer.get("service_id") != seeded.service_id:
        return f"the upstream did not see the seeded service's verified principal: {answer!r}"
    return None


def _send_answer(answer: Any, seeded: Expectations) -> str | None:
    if not isinstance(answer, dict) or "id" not in answer or "content" not in answer:
        return f"not a Notify send answer: {answer!r}"
    if answer.get("template", {}).get("id") != seeded.email_template_id:
        return f"notify answered for another template: {answer!r}"
    if "Hello Ada" not in answer["content"].get("body", ""):
        return f"the email was not rendered with its personalisation: {answer!r}"
    return None


def _email_body(seeded: Expectations) -> bytes:
    """A typical API send: an address, the template, four personalisation values (one for a conditional)."""
    return orjson.dumps(
        {
            "email_address": "ada.lovelace@example.gov.uk",
            "template_id": seeded.email_template_id,
            "personalisation": {"name": "Ada", "date": "1 December 2026", "place": "Room 4", "urgent": "yes"},
            "reference": "bench-run",
        }
    )


def _bare_answer(answer: Any, _: Expectations) -> str | None:
    return None if answer == {"status": "ok", "component": "bench-bare"} else f"unexpected answer {answer!r}"


#: The request body of the insert scenarios: small, like a Notify send's reference.
INSERT_BODY = b'{"reference": "bench-run"}'

SCENARIOS: list[Scenario] = [
    Scenario(
        key="a",
        title="bare ASGI JSON, direct",
        target="bare",
        path="/",
        check=_bare_answer,
        what="uvicorn (2 workers) answering fixed JSON bytes from a raw ASGI callable: the machine's ceiling.",
    ),
    Scenario(
        key="b",
        title="FastAPI one-insert, direct",
        target="insert",
        path=INSERT_PATH,
        method="POST",
        body=INSERT_BODY,
        expect_status=201,
        check=_direct_answer,
        what="A kernel-built FastAPI app (2 workers): pydantic body, a session per request, one INSERT, commit.",
    ),
    Scenario(
        key="c",
        title="FastAPI one-insert, through the gateway",
        target="gateway",
        path=INSERT_PATH,
        method="POST",
        body=INSERT_BODY,
        notify_key=True,
        expect_status=201,
        check=_gateway_answer,
        what="(b) behind the gateway: Notify JWT check, principal token signed and verified, aiohttp forwarding.",
    ),
    Scenario(
        key="e",
        title="Notify send email, through the gateway",
        target="notify",
        path="/v2/notifications/email",
        method="POST",
        body=_email_body,
        notify_key=True,
        expect_status=201,
        check=_send_answer,
        what="The real notify (2 workers, PostgreSQL) behind the gateway: `POST /v2/notifications/email` with a live "
        "key: JWT, rate limit, principal, then notify's whole send path (service, daily limit, template, rendering, "
        "one committed row, the delivery queue told).",
    ),
    Scenario(
        key="b1",
        title="FastAPI one-insert, direct, 1 connection",
        target="insert",
        path=INSERT_PATH,
        method="POST",
        body=INSERT_BODY,
        connections=1,
        threads=1,
        expect_status=201,
        check=_direct_answer,
        what="(b) with one connection: latency without queueing.",
    ),
    Scenario(
        key="c1",
        title="FastAPI one-insert, through the gateway, 1 connection",
        target="gateway",
        path=INSERT_PATH,
        method="POST",
        body=INSERT_BODY,
        notify_key=True,
        connections=1,
        threads=1,
        expect_status=201,
        check=_gateway_answer,
        what="(c) with one connection: what the gateway adds to one request's latency.",
    ),
    Scenario(
        key="d",
        title="FastAPI one-insert, through the gateway, on a rate-limited send path",
        target="gateway",
        path=SEND_PATH,
        method="POST",
        body=INSERT_BODY,
        notify_key=True,
        expect_status=201,
        check=_gateway_answer,
        what="(c) at `/v2/notifications/sms`, where the gateway also runs the shared GCRA limiter (one Redis "
        "EVALSHA); the seeded service's limit is high enough never to refuse.",
    ),
]


def _scaleout(key: str, sets: int, capped: bool) -> Scenario:
    hosts = "each host capped" if capped else "hosts sharing the machine"
    return Scenario(
        key=key,
        title=f"Notify send SMS through the round-robin, {sets} replica set{'s' if sets > 1 else ''}, {hosts}",
        target=SCALEOUT_TARGET,
        path="/v2/notifications/sms",
        method="POST",
        notify_key=True,
        expect_status=201,
        what=(
            f"`POST /v2/notifications/sms` through a round-robin TCP balancer to {sets} gateway host"
            f"{'s' if sets > 1 else ''}, each calling its own replica set's notify host, while every notify worker "
            "host delivers to the fake SMS provider and its receipts come back through the balancer; "
            + ("each namespace host capped at `--scaleout-host-cpu` of a core, as on hosts of its own."
               if capped else "no caps: every host shares the machine's cores.")
        ),
    )  # fmt: skip


SCENARIOS += [_scaleout("s1", 1, True), _scaleout("s2", 2, True), _scaleout("u1", 1, False), _scaleout("u2", 2, False)]

SCENARIOS += [
    Scenario(
        key="f",
        title="email delivery, queue to SMTP sink",
        target=DELIVERY_TARGET,
        path="/v2/notifications/email",
        method="POST",
        expect_status=201,
        what="A backlog of email sends queued through the gateway with no notify worker running, then the workers "
        "started: emails a second until the SMTP sink holds every one, and until every one is `delivered` (the "
        "sink's receipts applied); goal ≥ 1,000 a second.",
    ),
    Scenario(
        key="g",
        title="bulk job of email rows, upload to all delivered",
        target=DELIVERY_TARGET,
        path="/v2/notifications/bulk",
        method="POST",
        expect_status=201,
        what="A CSV of email rows through the gateway's `POST /v2/notifications/bulk` with the workers running: "
        "seconds to the 201, then to every row at the sink and `delivered`.",
    ),
]

SCENARIOS += [
    Scenario(
        key="pay-flow",
        title="Pay full payment flow, through the gateway",
        target=PAY_FLOW_TARGET,
        path="/v1/payments",
        method="POST",
        expect_status=201,
        what="Payments end to end through the gateway to the real pay (2 workers, PostgreSQL), as payers' browsers "
        "without JavaScript make them: `POST /v1/payments` with a Pay key, the `next_url` token exchange, the card "
        "page, the card form (sandbox success card), the confirm page, Confirm, and `/return` to the return_url; "
        "completed payments a second (goal ≥ 300).",
    ),
]

SCENARIOS += [
    Scenario(
        key="token",
        title="identity token endpoint, through the gateway",
        target=TOKEN_TARGET,
        path="/token",
        method="POST",
        what="`POST /token` through the gateway to the real identity (2 workers, PostgreSQL, Redis), each request "
        "with its own authorization code (minted beforehand at `/authorize` on a signed-in session, PKCE S256) and "
        "its own `private_key_jwt` client assertion: the assertion's ES256 signature and claims verified, its `jti` "
        "recorded, the code and verifier checked and the code claimed, an ES256 ID token signed, the access token "
        "stored; tokens a second (goal ≥ 1,000).",
    ),
]

COMPARISONS: list[Comparison] = [
    Comparison("through gateway ÷ direct, one-insert endpoint (c/b)", "throughput", "c", "b", ("min", 0.8)),
    Comparison("one-insert ÷ bare ASGI, direct (b/a)", "throughput", "b", "a"),
    Comparison("added p50 at one connection (c1 − b1), ms", "added_p50", "c1", "b1", ("max", 0.5)),
    Comparison("rate-limited send path ÷ plain path, through the gateway (d/c)", "throughput", "d", "c"),
    Comparison("Notify send email ÷ one-insert direct (e/b)", "throughput", "e", "b", ("min", 1.0)),
    Comparison("Notify send email p99 at 64 connections (e), ms", "p99", "e", "", ("max", 50.0)),
    Comparison("scale-out: two replica sets ÷ one, each host capped (s2/s1)", "throughput", "s2", "s1", ("min", 1.7)),
    Comparison("scale-out: two replica sets ÷ one, hosts sharing the machine (u2/u1)", "throughput", "u2", "u1"),
]


def by_key(keys: list[str] | None) -> list[Scenario]:
    """The scenarios to run, in their declared order (all when `keys` is empty)."""
    if not keys:
        return list(SCENARIOS)
    known = {s.key for s in SCENARIOS}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in SCENARIOS if s.key in keys]
