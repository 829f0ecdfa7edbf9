"""The Pay full-flow scenario of `make bench` (`pay-flow`): payments from create to the return_url, through the
gateway, on the real pay and PostgreSQL (`bench.pay_flow`).

`--pay-flow-concurrency` payers (64) pay one payment after another, each as a browser without JavaScript pays it
(`bench.pay_flow.pay_once`: create, token exchange, card page, card form, confirm page, Confirm, return). After a
warm-up (`--pay-flow-warmup`, 5 s) the harness measures `--pay-flow-duration` seconds (20): payments completed in
that window a second, each step's latency, and the CPU each process group used (`bench.load.LoadMeter`). Then the
payers finish the payments in flight, a sample is read back through `GET /v1/payments/{id}`, and every payment the
API created is checked in pay's database: `success`, entered exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import orjson
import uvloop

from bench.load import CLIENT, LoadMeter, Usage
from bench.pay_flow import (
    PAGE_STEPS,
    STEPS,
    FlowStats,
    PayLedger,
    PayTopology,
    StepFailed,
    compare,
    pay_once,
    read_rows,
)
from bench.scenarios import PAY_FLOW_TARGET, Scenario
from bench.topology import log_problems

T = TypeVar("T")
#: The issue's goal: completed payments a second on this 2-core machine.
GOAL_PER_SECOND = 300.0
#: (full size, --quick size) of each option.
SIZES = {"duration": (20.0, 4.0), "warmup": (5.0, 1.0), "sample": (50, 10)}
GATEWAY_WORKERS = 2
#: Others' CPU (cores) below which the machine counts as quiet before the run (as `bench.run`'s scenarios wait).
QUIET_CORES = 0.1
#: A run is disturbed when other processes used this much CPU meanwhile (as the wrk scenarios' table marks it).
DISTURBED_CORES = 0.15
#: Process group name prefix -> CPU table column.
_COLUMNS = (("gateway", "gateway"), ("pay", "pay API"), ("postgres", "postgres"), ("redis", "redis"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pay-flow-concurrency", type=int, default=64, help="payers paying at once in (pay-flow) (default 64)"
    )
    parser.add_argument(
        "--pay-flow-duration",
        type=float,
        default=None,
        help=f"measured seconds of (pay-flow) (default {SIZES['duration'][0]:g}; --quick {SIZES['duration'][1]:g})",
    )
    parser.add_argument(
        "--pay-flow-warmup",
        type=float,
        default=None,
        help=f"warm-up seconds before (pay-flow)'s window (default {SIZES['warmup'][0]:g}; --quick "
        f"{SIZES['warmup'][1]:g})",
    )
    parser.add_argument(
        "--pay-flow-services",
        type=int,
        default=16,
        help="services the payments are spread over; pay allows 40 creates a second per account (default 16)",
    )
    parser.add_argument(
        "--pay-flow-sample",
        type=int,
        default=None,
        help=f"completed payments read back through GET /v1/payments/{{id}} (default {SIZES['sample'][0]}; --quick "
        f"{SIZES['sample'][1]})",
    )


def _size(args: argparse.Namespace, name: str, value: float | None) -> float:
    return value if value is not None else SIZES[name][1 if args.quick else 0]


@dataclass
class Outcome:
    """The measured run, for results.md."""

    stats: FlowStats
    usage: Usage | None
    duration: float
    concurrency: int
    services: int
    ledger: PayLedger | None = None
    #: (read back as `success`, read back) through the API.
    sample: tuple[int, int] = (0, 0)
    #: Transactions (commits and rollbacks) on pay's database over the measured window, from `pg_stat_database`.
    transactions: int = 0

    @property
    def rate(self) -> float:
        return self.stats.completed_in_window() / self.duration

    @property
    def clean(self) -> bool:
        read, asked = self.sample
        return not self.stats.errors and self.ledger is not None and self.ledger.clean and read == asked


def run(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    workdir: Path,
    log: Callable[[str], None],
    baseline_rps: float | None,
) -> tuple[list[str], Counter[str], bool]:
    """Run (pay-flow) when chosen; returns results.md's section, what the servers logged at warning or above, and
    whether every payment created reached `success` exactly once with no step failing."""
    chosen = [s for s in scenarios if s.target == PAY_FLOW_TARGET]
    if not chosen:
        return [], Counter(), True
    duration, warmup = _size(args, "duration", args.pay_flow_duration), _size(args, "warmup", args.pay_flow_warmup)
    sample = int(_size(args, "sample", args.pay_flow_sample))
    if duration <= 0 or warmup < 0 or args.pay_flow_concurrency < 1 or args.pay_flow_services < 1 or sample < 0:
        raise SystemExit(
            "--pay-flow-duration must be positive, --pay-flow-warmup and --pay-flow-sample not negative, "
            "--pay-flow-concurrency and --pay-flow-services at least 1"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    clock = time.monotonic()
    topology = PayTopology(workdir, upstream_workers=args.upstream_workers, services=args.pay_flow_services)
    with topology:
        topology.start_pay(args.upstream_workers)
        gateway = topology.start_gateway(GATEWAY_WORKERS, "pay", extra_env=topology.gateway_env)
        meter = LoadMeter(topology.process_groups)
        log(f"pay-flow: topology up in {time.monotonic() - clock:.1f}s (logs in {workdir})")
        outcome = Outcome(FlowStats(), None, duration, args.pay_flow_concurrency, args.pay_flow_services)
        # As before every wrk scenario: wait a little (`--quiet-wait`) for other processes to leave the CPU.
        idle = meter.wait_for_quiet(QUIET_CORES, args.quiet_wait)
        if idle is not None and idle >= QUIET_CORES:
            log(f"pay-flow: the machine is busy (others use {idle:.2f} cores); measuring anyway")
        _run_async(_drive(topology, gateway, meter, outcome, warmup))
        topology.check_alive()
        outcome.sample = _run_async(_read_back(topology.url(gateway), outcome.stats, sample))
        rows = _run_async(read_rows(topology.pay_db))
        outcome.ledger = compare(outcome.stats.created, [p for p, _at in outcome.stats.completed], rows)
        problems = log_problems(workdir)
    _log_outcome(outcome, log)
    return _section(chosen[0], outcome, baseline_rps), problems, outcome.clean


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop, as the servers run: the harness shares the two cores, so its own CPU per payment matters."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def _drive(topology: PayTopology, gateway: str, meter: LoadMeter, outcome: Outcome, warmup: float) -> None:
    """The payers, each paying one payment after another: warm-up, the measured window, then the payments in flight
    are finished (outside the window)."""
    stats, base = outcome.stats, topology.url(gateway)
    keys = [key for _service, key in topology.pay_keys]
    numbers = itertools.count()
    stopping = False

    async def payer(session: aiohttp.ClientSession) -> None:
        while not stopping:
            index = next(numbers)
            try:
                await pay_once(session, base, keys[index % len(keys)], index, stats)
            except StepFailed as exc:
                stats.errors[f"{exc.step}: {exc.detail.split(' ', 1)[0]}"] += 1
                if len(stats.failures) < 10:
                    stats.failures.append(str(exc))

    began = time.monotonic()
    stats.window = (began + warmup, began + warmup + outcome.duration)
    connector = aiohttp.TCPConnector(limit=outcome.concurrency + 8)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        payers = [asyncio.create_task(payer(http)) for _ in range(outcome.concurrency)]
        await asyncio.sleep(max(0.0, stats.window[0] - time.monotonic()))
        start, before = meter.snapshot(), await transactions(topology)
        await asyncio.sleep(max(0.0, stats.window[1] - time.monotonic()))
        outcome.usage, outcome.transactions = meter.usage(start), await transactions(topology) - before
        stopping = True
        await asyncio.gather(*payers)


async def transactions(topology: PayTopology) -> int:
    """Commits plus rollbacks on pay's database so far (PostgreSQL's statistics, flushed by each backend at most
    once a second, so a window's difference is right to within a second's worth)."""
    assert topology.postgres is not None
    conn = await asyncpg.connect(topology.postgres.dsn)
    try:
        value = await conn.fetchval("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'pay'")
    finally:
        await conn.close()
    return int(value or 0)


async def _read_back(base: str, stats: FlowStats, count: int) -> tuple[int, int]:
    """A sample of completed payments read through `GET /v1/payments/{id}` with their service's key, as the service
    would check them: (how many read `success`, how many were read)."""
    chosen = random.sample([p for p, _at in stats.completed], min(count, len(stats.completed)))
    succeeded = 0
    async with aiohttp.ClientSession() as http:
        for payment_id in chosen:
            headers = {"Authorization": f"Bearer {stats.owners[payment_id]}"}
            async with http.get(f"{base}/v1/payments/{payment_id}", headers=headers) as answer:
                raw = await answer.read()
            if answer.status == 200 and orjson.loads(raw)["state"]["status"] == "success":
                succeeded += 1
            elif len(stats.failures) < 20:
                stats.failures.append(f"read back {payment_id}: {answer.status} {raw[:160]!r}")
    return succeeded, len(chosen)


# -- results -----------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.999999) - 1))]


def cpu_per_payment(usage: Usage | None, payments: int) -> dict[str, float]:
    """µs of CPU a completed payment cost each process group over the measured window (idle servers left out)."""
    if usage is None or not payments:
        return {}
    per: dict[str, float] = {}
    for name, seconds in usage.cpu.items():
        column = "harness" if name == CLIENT else next((c for prefix, c in _COLUMNS if name.startswith(prefix)), None)
        if column is not None:  # the base topology's bench upstreams idle here: not part of the flow
            per[column] = per.get(column, 0.0) + seconds / payments * 1e6
    return per


def ceiling_per_second(per_payment_us: dict[str, float], cores: int | None = None) -> float | None:
    """Payments a second this machine could complete if the flow had every core to itself: the cores divided by
    what a payment costs all processes together. CPU per payment barely moves when others share the machine, so
    this says whether a disturbed run's miss is conclusive."""
    total = sum(per_payment_us.values())
    cores = cores or os.cpu_count() or 1
    return cores / (total / 1e6) if total > 0 else None


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f}"


def _log_outcome(outcome: Outcome, log: Callable[[str], None]) -> None:
    ledger = outcome.ledger
    shown = (
        f"lost {ledger.lost}, duplicated {ledger.duplicated}, unfinished {ledger.unfinished}, "
        f"unexpected {ledger.unexpected}"
        if ledger
        else "not compared"
    )
    errors = dict(outcome.stats.errors) or "none"
    foreign = f", others' CPU {outcome.usage.foreign_cores:.2f} cores" if outcome.usage else ""
    log(
        f"pay-flow: {outcome.stats.completed_in_window():,} payments completed in {outcome.duration:g} s "
        f"({outcome.rate:,.0f}/s){foreign}; {len(outcome.stats.created):,} created in all; {shown}; errors: {errors}"
    )
    completed = outcome.stats.completed_in_window()
    per = cpu_per_payment(outcome.usage, completed)
    if per:
        shown_cpu = ", ".join(f"{name} {value:,.0f}" for name, value in per.items())
        log(f"pay-flow: CPU µs a payment: {shown_cpu}; {outcome.transactions / completed:.1f} pay transactions each")
    for failure in outcome.stats.failures[:5]:
        log(f"pay-flow: failure: {failure}")


def _section(scenario: Scenario, outcome: Outcome, baseline_rps: float | None) -> list[str]:
    stats, ledger, usage = outcome.stats, outcome.ledger, outcome.usage
    completed = stats.completed_in_window()
    ratio = f"{outcome.rate / baseline_rps:.3f}" if baseline_rps else "not measured (run (b) in the same run)"
    foreign = usage.foreign_cores if usage else None
    others = "n/a" if foreign is None else f"{foreign:.2f}"
    if foreign is not None and foreign >= DISTURBED_CORES:
        others = f"**{others}**"
    lines = ["", f"## Pay: the full payment flow ({scenario.key})", "", f"- ({scenario.key}) {scenario.what}", ""]
    lines += [
        f"{outcome.concurrency} payers at once over {outcome.services} services (test accounts, the sandbox), the "
        f"gateway on {GATEWAY_WORKERS} workers, pay's API on its `gaap serve pay` workers, pay's worker not running "
        "(a payment is `success` at Confirm; its capture waits in the queue). A payment is *completed* when "
        "`/return/{id}` sends the payer to its `return_url`; the rate counts those in the measured window.",
        "",
        "| Completed in the window | Payments/s | ÷ (b) | Created in all | Lost | Duplicated | Unfinished "
        "| Unexpected | `auth_waiting` seen | Others' CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {completed:,} | {outcome.rate:,.0f} | {ratio} | {len(stats.created):,} "
        f"| {_n(ledger, 'lost')} | {_n(ledger, 'duplicated')} | {_n(ledger, 'unfinished')} "
        f"| {_n(ledger, 'unexpected')} | {stats.auth_waits} | {others} |",
        "",
        f"A payment is {len(PAGE_STEPS) + 1} HTTP requests, so {outcome.rate:,.0f} payments a second are "
        f"{outcome.rate * (len(PAGE_STEPS) + 1):,.0f} requests a second through the gateway"
        + (f", against (b)'s {baseline_rps:,.0f} one-insert requests a second." if baseline_rps else "."),
        "",
        "| Step | Requests in the window | p50 (ms) | p99 (ms) | Errors (whole run) |",
        "|---|---:|---:|---:|---:|",
    ]
    for step in STEPS:
        latencies = stats.latencies[step]
        failed = sum(n for what, n in stats.errors.items() if what.startswith(f"{step}:"))
        if not latencies and not failed:
            continue  # "auth waiting" on a run where the provider always answered within the page's wait
        lines.append(
            f"| {step} | {len(latencies):,} | {_ms(percentile(latencies, 0.5))} | {_ms(percentile(latencies, 0.99))} "
            f"| {failed} |"
        )
    lines += _cpu_lines(cpu_per_payment(usage, completed))
    if completed:
        lines += [
            "",
            f"Transactions on pay's database per completed payment: {outcome.transactions / completed:.1f} (commits "
            "and rollbacks over the window, from `pg_stat_database`; a read session is a transaction too).",
        ]
    lines.append("")
    read, asked = outcome.sample
    lines.append(f"- Read back through `GET /v1/payments/{{id}}`: {read} of {asked} completed payments `success`.")
    if stats.errors:
        shown = "; ".join(f"{what} ×{n}" for what, n in stats.errors.most_common(10))
        lines.append(f"- ({scenario.key}) **errors by step**: {shown}.")
        lines += [f"  - `{failure}`" for failure in stats.failures[:5]]
    per = cpu_per_payment(usage, completed)
    ceiling = ceiling_per_second(per)
    if ceiling is not None:
        lines.append(
            f"- CPU ceiling: {os.cpu_count()} cores ÷ {sum(per.values()) / 1000:,.1f} ms of CPU a payment (all "
            f"processes) ≈ {ceiling:,.0f} payments a second on this machine, however quiet and whatever the "
            "concurrency."
        )
    verdict = "met" if outcome.rate >= GOAL_PER_SECOND else "MISSED"
    if foreign is not None and foreign >= DISTURBED_CORES and (ceiling is None or ceiling >= GOAL_PER_SECOND):
        verdict += " (not conclusive: other processes used the CPU meanwhile)"
    lines.append(
        f"- Goal: ≥ {GOAL_PER_SECOND:,.0f} completed payments a second ({scenario.key}): "
        f"{outcome.rate:,.0f}, {verdict}."
    )
    return lines


def _n(ledger: PayLedger | None, name: str) -> str:
    return "n/a" if ledger is None else str(getattr(ledger, name))


def _cpu_lines(per: dict[str, float]) -> list[str]:
    if not per:
        return []
    order = ["gateway", "pay API", "postgres", "redis", "harness"]
    names = [n for n in order if n in per] + sorted(set(per) - set(order))
    return [
        "",
        "CPU time per completed payment (µs; user + system of each process group over the measured window ÷ the "
        "payments completed in it):",
        "",
        "| " + " | ".join(names) + " | all |",
        "|" + "---:|" * (len(names) + 1),
        "| " + " | ".join(f"{per[n]:,.0f}" for n in names) + f" | {sum(per.values()):,.0f} |",
    ]
