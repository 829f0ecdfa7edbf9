"""The token scenario of `make bench`: identity's `/token` (a `private_key_jwt` client assertion verified, the code
and its PKCE verifier checked and claimed, an ES256 ID token signed, an access token stored) through the gateway,
on the identity topology (`bench.token_flow`). Goal: at least 1,000 tokens a second on this 2-core machine.

Every `/token` request needs a code nobody has redeemed and an assertion whose `jti` was never used, so the bodies
are made before the clock runs and wrk sends each once (`bench/token.lua`, one file of bodies per wrk thread):

1. A citizen signs in once through the gateway's pages; the relying party's one-request check: a code is minted
   and redeemed through the gateway, the answer checked as an RP checks it (`token_answer_problems`: the ID token's
   signature against the published JWKS, its claims), the access token read back at `/userinfo`, and the same body
   sent again must be refused (single use).
2. Warm-up: codes for `--warmup` seconds at 1.5 × the goal are minted and redeemed, discarded; its rate sizes
   the measured run.
3. The measured run: enough codes for `--duration` at 1.5 × the faster of the goal and the warm-up's rate (or
   `--token-codes`), minted within the codes' five-minute lifetime, then wrk sends them. If a wrk thread runs out
   of bodies the run is cut short and its rate is a floor; results.md says so.

Identity's Redis holds a "used" marker for every code redeemed, so the tokens issued are counted on the server
side too and compared with what wrk counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from bench import wrk
from bench.load import CLIENT, LoadMeter, Usage
from bench.report import DISTURBED_CORES
from bench.scenarios import TOKEN_TARGET, Scenario
from bench.token_flow import GATEWAY_LIMITS, Grant, IdentityTopology, Minted, RelyingParty, token_answer_problems
from services.identity.oidc.store import PREFIX

#: The issue's goal: tokens a second through the gateway on this 2-core machine.
GOAL_PER_SECOND = 1000.0
#: Codes minted per second of run at the expected rate: a wrk thread that runs out cuts the run short.
SIZE_MARGIN = 1.5
#: identity's `auth_code_ttl` (its default, which the bench leaves): minting and the run must fit in it.
CODE_LIFETIME = 300.0
#: Seconds kept free of the codes' lifetime, for starting wrk and its stopping.
LIFETIME_MARGIN = 30.0
SCRIPT = Path(__file__).with_name("token.lua")
_TOKENS = re.compile(r"^BENCH-TOKENS (\{.*\})$", re.MULTILINE)
#: Where the CPU table's columns come from: process group name prefix -> column.
_COLUMNS = (("gateway", "gateway"), ("identity", "identity"), ("postgres", "postgres"), ("redis", "redis"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token-codes",
        type=int,
        default=None,
        help="codes minted for the token scenario's measured run (default: enough for --duration at 1.5 × the "
        "faster of 1,000 a second and the warm-up's rate)",
    )
    parser.add_argument(
        "--token-identity-workers",
        type=int,
        default=2,
        help="uvicorn workers of the identity API in the token scenario (default 2)",
    )


@dataclass
class Run:
    """One wrk run over pre-made bodies."""

    result: wrk.WrkResult
    bodies: int
    sent: int
    exhausted_threads: int
    usage: Usage | None = None
    #: Codes identity recorded as redeemed during the run (its Redis "used" markers).
    redeemed: int | None = None
    #: Redis commands run during the run, by command (identity's and the gateway limiter's).
    redis_commands: Counter[str] = field(default_factory=Counter)

    @property
    def cut_short(self) -> bool:
        return self.exhausted_threads > 0


def run(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    workdir: Path,
    log: Callable[[str], None],
    baseline_rps: float | None,
) -> tuple[list[str], Counter[str], bool]:
    """Run the token scenario if it was chosen; returns results.md's section, what the servers logged at warning
    or above, and whether every token request was answered 200 and counted by identity."""
    scenario = next((s for s in scenarios if s.target == TOKEN_TARGET), None)
    if scenario is None:
        return [], Counter(), True
    duration, warmup = wrk.seconds(args.duration), wrk.seconds(args.warmup)
    if duration + LIFETIME_MARGIN >= CODE_LIFETIME:
        raise SystemExit(f"the token scenario's --duration must stay under {CODE_LIFETIME - LIFETIME_MARGIN:g}s")
    if args.token_identity_workers < 1 or (args.token_codes is not None and args.token_codes < 1):
        raise SystemExit("--token-identity-workers and --token-codes must be at least 1")
    workdir.mkdir(parents=True, exist_ok=True)
    clock = time.monotonic()
    topology = IdentityTopology(workdir, upstream_workers=args.upstream_workers)
    with topology:
        topology.start_identity(args.token_identity_workers)
        rp = topology.register_client()
        gateway = topology.start_gateway(2, "identity", extra_env=GATEWAY_LIMITS)
        person = topology.make_person()
        cookies = topology.sign_in(gateway, rp, person)
        log(f"token: topology up, signed in through the pages, in {time.monotonic() - clock:.1f}s (logs in {workdir})")
        jwks = httpx.get(topology.url(gateway) + "/.well-known/jwks.json", timeout=10).json()
        _preflight(topology, gateway, rp, cookies, person.email, jwks)
        meter = LoadMeter(topology.process_groups)
        url = topology.url(gateway) + "/token"
        warm: Run | None = None
        if warmup > 0:
            minted = _mint(topology, rp, cookies, math.ceil(GOAL_PER_SECOND * warmup * SIZE_MARGIN), warmup, log)
            warm = _wrk(url, minted.grants, workdir / "warmup", args, warmup)
            log(f"token: warm-up {_rate(warm):,.0f} tokens/s, errors: {warm.result.describe_errors()}")
        expected = max(GOAL_PER_SECOND, _rate(warm) if warm and not warm.cut_short else 0.0)
        wanted = args.token_codes or math.ceil(expected * duration * SIZE_MARGIN)
        minted = _mint(topology, rp, cookies, wanted, duration, log)
        assert topology.redis is not None
        client = redis.Redis.from_url(topology.redis.url)
        try:
            before, commands = _redeemed(client), _commands(client)
            start = meter.snapshot()
            measured = _wrk(url, minted.grants, workdir / "measured", args, duration)
            measured.usage = meter.usage(start)
            measured.redis_commands = _commands(client) - commands
            measured.redeemed = _redeemed(client) - before
        finally:
            client.close()
        topology.check_alive()
        problems = topology.log_problems()
    r = measured.result
    log(
        f"(token) identity /token through the gateway: {_rate(measured):,.0f} tokens/s, p50 {r.p50_ms:.2f} ms, "
        f"p99 {r.p99_ms:.2f} ms, errors: {r.describe_errors()}, identity redeemed {measured.redeemed:,} codes"
        + (" (ran out of codes: a floor)" if measured.cut_short else "")
    )
    lines = section(scenario, measured, warm, minted, args, baseline_rps)
    return lines, problems, _counted(measured, args.connections)


def _rate(run: Run | None) -> float:
    return run.result.rps if run is not None else 0.0


def _counted(run: Run, connections: int) -> bool:
    """Clean: no error, and identity redeemed every code wrk saw answered (and at most the requests still in
    flight when wrk stopped, which it does not count)."""
    if run.result.error_count or run.redeemed is None:
        return False
    return run.result.requests <= run.redeemed <= run.result.requests + connections


def _mint(
    topology: IdentityTopology,
    rp: RelyingParty,
    cookies: dict[str, str],
    count: int,
    duration: float,
    log: Callable[[str], None],
) -> Minted:
    budget = CODE_LIFETIME - duration - LIFETIME_MARGIN
    minted = asyncio.run(topology.mint(rp, cookies, count, budget=budget))
    log(
        f"token: minted {len(minted.grants):,} of {count:,} codes in {minted.seconds:.1f}s ({minted.rate:,.0f}/s)"
        + (f"; failures: {minted.failures[:3]}" if minted.failures else "")
    )
    if minted.failures or not minted.grants:
        raise RuntimeError(f"(token) /authorize did not give codes: {minted.failures[:5]}")
    return minted


def _wrk(url: str, grants: list[Grant], folder: Path, args: argparse.Namespace, seconds: float) -> Run:
    """wrk over `grants`' bodies, split evenly over its threads (one file each)."""
    threads = min(args.threads, args.connections)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(threads):
        lines = [g.body for g in grants[index::threads]]
        (folder / f"bodies-{index}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = wrk.run(
        url,
        connections=args.connections,
        threads=threads,
        duration=seconds,
        script=SCRIPT,
        script_env={"BENCH_BODIES": str(folder / "bodies-%d.txt"), "BENCH_PATH": "/token"},
    )
    for body_file in folder.glob("bodies-*.txt"):
        body_file.unlink()  # the bodies hold client assertions: not kept with the logs
    match = _TOKENS.search(result.output)
    if match is None:
        raise RuntimeError(f"wrk printed no BENCH-TOKENS line (was token.lua loaded?):\n{result.output[-2000:]}")
    counts = json.loads(match.group(1))
    return Run(result, int(counts["bodies"]), int(counts["sent"]), int(counts["exhausted_threads"]))


def _redeemed(client: redis.Redis) -> int:
    """Codes identity has claimed and not yet forgotten (their "used" markers outlive the run by minutes)."""
    return sum(1 for _ in client.scan_iter(match=f"{PREFIX}code-used:*", count=10_000))


def _commands(client: redis.Redis) -> Counter[str]:
    """Redis's own count of the commands it has run, by command (`INFO commandstats`)."""
    stats: dict[str, dict[str, Any]] = client.info("commandstats")  # type: ignore[assignment]
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def _preflight(
    topology: IdentityTopology,
    gateway: str,
    rp: RelyingParty,
    cookies: dict[str, str],
    email: str,
    jwks: dict[str, object],
) -> None:
    """One code redeemed through the gateway and checked as a relying party checks it, its access token read at
    `/userinfo`, and the same request again refused: a run that answers the wrong thing fast must fail loudly."""
    minted = asyncio.run(topology.mint(rp, cookies, 1, budget=30))
    if not minted.grants:
        raise RuntimeError(f"(token) /authorize with prompt=none gave no code: {minted.failures}")
    grant = minted.grants[0]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=topology.url(gateway), timeout=10) as http:
        answer = http.post("/token", content=grant.body, headers=headers)
        json_answer = answer.headers.get("content-type", "").startswith("application/json")
        body: Any = answer.json() if json_answer else answer.text
        problems = token_answer_problems(
            answer.status_code, body, rp=rp, nonce=grant.nonce, jwks=dict(jwks), now=time.time()
        )
        if problems:
            raise RuntimeError(f"(token) the token answer failed the relying party's checks: {problems}")
        info = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
        if info.status_code != 200 or info.json().get("email") != email:
            raise RuntimeError(f"(token) /userinfo answered {info.status_code}: {info.text[:300]}")
        again = http.post("/token", content=grant.body, headers=headers)
        if again.status_code != 400:
            raise RuntimeError(f"(token) a replayed token request was answered {again.status_code}: {again.text[:300]}")


def _cpu_per_token(usage: Usage | None, count: int) -> dict[str, float]:
    """CPU µs a token per column (the idle bench upstreams left out)."""
    if usage is None or not count:
        return {}
    per = usage.per_request_us(count)
    columns: dict[str, float] = {}
    for name, micros in per.items():
        if name == CLIENT:
            columns["wrk"] = columns.get("wrk", 0.0) + micros
            continue
        column = next((col for prefix, col in _COLUMNS if name.startswith(prefix)), None)
        if column is not None:
            columns[column] = columns.get(column, 0.0) + micros
    return columns


def section(
    scenario: Scenario,
    measured: Run,
    warm: Run | None,
    minted: Minted,
    args: argparse.Namespace,
    baseline_rps: float | None,
) -> list[str]:
    """results.md's section for the token scenario."""
    r = measured.result
    rate = r.rps
    foreign = measured.usage.foreign_cores if measured.usage else None
    others = "n/a" if foreign is None else f"**{foreign:.2f}**" if foreign >= DISTURBED_CORES else f"{foreign:.2f}"
    redeemed = f"{measured.redeemed:,}" if measured.redeemed is not None else "n/a"
    lines = [
        "",
        f"## Identity token endpoint ({scenario.key})",
        "",
        scenario.what,
        "",
        "| Run | Tokens/s | p50 ms | p99 ms | Errors | Codes made | Sent | Redeemed (identity) | Others' CPU |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
        f"| ({scenario.key}) {r.command} | {rate:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.describe_errors()} "
        f"| {measured.bodies:,} | {measured.sent:,} | {redeemed} | {others} |",
    ]
    per = _cpu_per_token(measured.usage, r.requests)
    if per:
        names = [n for n in ("gateway", "identity", "postgres", "redis", "wrk") if n in per]
        lines += [
            "",
            "CPU time per token (µs; user + system of each process group over the measured run ÷ tokens; `wrk` is "
            "the load generator and the harness, idle meanwhile):",
            "",
            "| Run | " + " | ".join(names) + " | all |",
            "|---|" + "---:|" * (len(names) + 1),
            f"| ({scenario.key}) | " + " | ".join(f"{per[n]:,.0f}" for n in names) + f" | {sum(per.values()):,.0f} |",
        ]
    lines.append("")
    lines.append(
        f"- ({scenario.key}) codes minted at identity's `/authorize` (`prompt=none` on one signed-in session, "
        f"{len(minted.grants):,} in {minted.seconds:.1f} s, {minted.rate:,.0f} a second, each with its client "
        f"assertion signed by the harness) before the run; each body sent once."
    )
    if len(minted.grants) < minted.requested:
        lines.append(
            f"- ({scenario.key}) only {len(minted.grants):,} of the {minted.requested:,} codes wanted could be made "
            f"within their {CODE_LIFETIME:.0f} s lifetime (less the run and a margin)."
        )
    if measured.redis_commands and r.requests:
        calls = sum(measured.redis_commands.values()) / r.requests
        top = ", ".join(f"{name} {n / r.requests:.1f}" for name, n in measured.redis_commands.most_common(8))
        lines.append(f"- ({scenario.key}) Redis commands a token: {calls:.1f} ({top}).")
    if foreign is not None and foreign >= DISTURBED_CORES:
        lines.append(
            f"- ({scenario.key}) **disturbed**: other processes used {foreign:.2f} cores meanwhile, so the rate and "
            "latencies are pessimistic; the CPU per token is the figure to trust (on a saturated machine the rate "
            "is about the cores ÷ all of it)."
        )
    if warm is not None:
        lines.append(
            f"- ({scenario.key}) warm-up (discarded): {warm.result.rps:,.0f} tokens/s over {warm.sent:,} codes, "
            f"errors: {warm.result.describe_errors()}{'; it ran out of codes' if warm.cut_short else ''}."
        )
    if measured.cut_short:
        lines.append(
            f"- ({scenario.key}) **cut short**: {measured.exhausted_threads} wrk thread(s) sent every body they had "
            f"before the {args.duration} were up, so {rate:,.0f} tokens/s is a floor (try `--token-codes`)."
        )
    if measured.redeemed is not None and not _counted(measured, args.connections):
        lines.append(
            f"- ({scenario.key}) **not clean**: wrk counted {r.requests:,} answers, {r.describe_errors()} errors, "
            f"and identity redeemed {measured.redeemed:,} codes."
        )
    if baseline_rps:
        lines.append(f"- ({scenario.key}) ÷ (b) one-insert direct: {rate / baseline_rps:.2f}.")
    else:
        lines.append(f"- ({scenario.key}) ÷ (b) one-insert direct: not measured ((b) did not run cleanly in this run).")
    # A run cut short divides its tokens by the whole duration: a floor, so a floor at the goal meets it.
    verdict = "met" if rate >= GOAL_PER_SECOND and not r.error_count else "MISSED"
    lines.append(f"- Goal: ≥ {GOAL_PER_SECOND:,.0f} tokens a second through the gateway: {rate:,.0f}, {verdict}.")
    return lines
