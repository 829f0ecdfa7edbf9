"""`make bench` / `python -m bench.run`: start the production topology, run every scenario under wrk, write
`bench/results.md`, and stop everything again (also on failure, Ctrl-C or SIGTERM).

Order of a run: every server first (one gateway per worker count asked for, side by side), then the scenarios in
their declared order, those through the gateway once per layout, so that both sides of each ratio are measured
close together in time. Each scenario is checked with one request first (right
status, and through the gateway: the upstream saw the seeded service's verified principal), warmed up with a
discarded wrk run of the same shape, then measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import delivery_bench, pay_bench, scaleout_bench, token_bench, wrk
from bench.load import LoadMeter, Usage
from bench.netns import permission_problem
from bench.report import DISTURBED_CORES, Measured, RunSettings, Verdict, compare, render
from bench.scenarios import (
    COMPARISONS,
    DELIVERY_TARGET,
    PAY_FLOW_TARGET,
    SCALEOUT_TARGET,
    TOKEN_TARGET,
    Expectations,
    Scenario,
    by_key,
)
from bench.topology import MAX_TOKEN_SECONDS, Topology
from gaap.settings import ComponentSettings

DEFAULT_OUTPUT = Path(__file__).with_name("results.md")
#: Before a scenario, wait (up to --quiet-wait seconds) until other processes use less than this many cores.
QUIET_CORES = 0.1


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", default="10s", help="measured time per scenario (default 10s)")
    parser.add_argument("--warmup", default="3s", help="discarded warm-up per scenario (default 3s)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--gateway-workers",
        default="2,1",
        help="gateway worker counts to measure, comma-separated; the first is the production layout the targets "
        "are judged on (default 2,1)",
    )
    parser.add_argument("--upstream-workers", type=int, default=2, help="uvicorn workers per upstream (default 2)")
    parser.add_argument(
        "--upstream-db-pool-size",
        type=int,
        default=None,
        help="the insert upstream's database pool per worker (default: the kernel's, as a service deployed as-is)",
    )
    parser.add_argument("--scenarios", default="", help="comma-separated scenario keys (default: all)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="~35 s smoke run: 3 s runs, 1 s warm-ups, one gateway layout, no waiting for a quiet machine, and no "
        "scale-out scenarios unless --scenarios names them",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the results")
    parser.add_argument(
        "--patience",
        type=float,
        default=40.0,
        help="extra seconds the whole run may spend on a busy machine: waiting for other processes to leave the "
        "CPUs alone before a scenario, and measuring a disturbed scenario again (default 40; 0: never wait)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="at most this many seconds of that waiting before any one scenario (default 10)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="measure a scenario again (keeping the less disturbed run) when other processes used more than "
        f"{DISTURBED_CORES} cores during it and patience is left (default 1)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (always kept on failure)")
    scaleout_bench.add_arguments(parser)
    delivery_bench.add_arguments(parser)
    token_bench.add_arguments(parser)
    pay_bench.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.patience, args.retries = "3s", "1s", 0.0, 0
        args.gateway_workers = args.gateway_workers.split(",")[0]
    return args


def expectations(topology: Topology) -> Expectations:
    assert topology.seeded is not None
    return Expectations(service_id=str(topology.seeded.service_id), email_template_id=topology.email_template_id)


def _request(url: str, body: bytes, method: str, authorization: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body else {}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw[:500]


def preflight(topology: Topology, scenario: Scenario, url: str) -> None:
    """One request, checked, before any load: a scenario that answers the wrong thing fast must fail loudly."""
    authorization = topology.notify_authorization(10) if scenario.notify_key else None
    seeded = expectations(topology)
    status, answer = _request(url, scenario.body_for(seeded), scenario.method, authorization)
    if status != scenario.expect_status:
        raise RuntimeError(f"({scenario.key}) {url} answered {status}, expected {scenario.expect_status}: {answer!r}")
    if scenario.check is not None:
        problem = scenario.check(answer, seeded)
        if problem:
            raise RuntimeError(f"({scenario.key}) {url}: {problem}")


class Patience:
    """The extra time a run may spend on a busy machine (waiting for quiet, measuring again), shared by all
    scenarios so that a run on a busy machine still ends in bounded time."""

    def __init__(self, seconds: float) -> None:
        self.budget = seconds
        self.spent = 0.0

    @property
    def left(self) -> float:
        return max(0.0, self.budget - self.spent)

    def spend(self, since: float) -> None:
        """Charge the time since `since` (a `time.monotonic()` reading)."""
        self.spent += time.monotonic() - since


def measure(
    topology: Topology,
    scenario: Scenario,
    target: str,
    args: argparse.Namespace,
    meter: LoadMeter,
    patience: Patience,
    warmup_failures: list[str],
) -> tuple[wrk.WrkResult, Usage | None]:
    """Preflight, then: wait (within the run's patience) for a quiet machine, warm up, measure; again if another
    process took a noticeable share of the CPU meanwhile and patience is left. Returns the least disturbed result
    and where the CPU went during it."""
    duration, warmup = wrk.seconds(args.duration), wrk.seconds(args.warmup)
    connections = scenario.connections or args.connections
    threads = scenario.threads or args.threads
    url = topology.url(target) + scenario.path
    preflight(topology, scenario, url)
    body = scenario.body_for(expectations(topology))

    def once(seconds: float, statuses: bool = False) -> wrk.WrkResult:
        authorization = topology.notify_authorization(seconds + 2) if scenario.notify_key else None
        return wrk.run(
            url,
            method=scenario.method,
            body=body,
            authorization=authorization,
            connections=connections,
            threads=threads,
            duration=seconds,
            statuses=statuses,
        )

    best: tuple[wrk.WrkResult, Usage | None] | None = None
    for attempt in range(1 + args.retries):
        began = time.monotonic()
        if attempt:
            if patience.left < duration + warmup:
                break
            log(f"  ({scenario.key}) was disturbed by other processes: measuring it again")
        if patience.left > 0:
            idle = meter.wait_for_quiet(QUIET_CORES, min(args.quiet_wait, patience.left))
            if idle is not None and idle >= QUIET_CORES:
                log(f"  the machine is busy (others use {idle:.2f} cores); measuring anyway")
        if not attempt:
            patience.spend(began)  # the first measurement itself is not extra; waiting before it is
        if warmup > 0:
            warm = once(warmup, statuses=True)
            if warm.error_count:
                log(f"  warm-up of ({scenario.key}) had errors: {warm.describe_errors()}: {list(warm.failures)}")
                warmup_failures.extend(f"({scenario.key}) warm-up: {f}" for f in warm.failures or ["no detail"])
        start = meter.snapshot()
        result = once(duration)
        usage = meter.usage(start)
        topology.check_alive()
        if attempt:
            patience.spend(began)
        if best is None or _disturbance(usage) < _disturbance(best[1]):
            best = (result, usage)
        if _disturbance(usage) < DISTURBED_CORES:
            break
    assert best is not None
    return best


def _disturbance(usage: Usage | None) -> float:
    return usage.foreign_cores if usage is not None else 0.0


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turned into an exception so the `with Topology(...)` block stops every server on the way out.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk.find_wrk()
    scenarios = by_key([k for k in args.scenarios.split(",") if k])
    skipped_scaleout = ""
    if any(s.target == SCALEOUT_TARGET for s in scenarios):
        if args.quick and not args.scenarios:
            scenarios = [s for s in scenarios if s.target != SCALEOUT_TARGET]
        elif problem := permission_problem():
            skipped_scaleout = f"Scale-out scenarios not run: {problem}."
            scenarios = [s for s in scenarios if s.target != SCALEOUT_TARGET]
    apart = (SCALEOUT_TARGET, DELIVERY_TARGET, PAY_FLOW_TARGET, TOKEN_TARGET)
    standard = [s for s in scenarios if s.target not in apart]
    layouts = [int(n) for n in args.gateway_workers.split(",") if n.strip()]
    if not layouts or any(n < 1 for n in layouts):
        raise SystemExit("--gateway-workers needs one or more positive counts, e.g. 2 or 2,1")
    settings = RunSettings(
        duration=wrk.seconds(args.duration),
        warmup=wrk.seconds(args.warmup),
        connections=args.connections,
        threads=args.threads,
        upstream_workers=args.upstream_workers,
        gateway_workers=layouts if any(s.through_gateway for s in scenarios) else [],
        quick=args.quick,
    )
    default_pool = ComponentSettings.model_fields["db_pool_size"].default
    pool = args.upstream_db_pool_size or default_pool
    settings.notes.append(
        f"Insert upstream's database pool per worker: {pool} + {pool} overflow (SQLAlchemy QueuePool via "
        f"`gaap.db.Database`){', the kernel default' if pool == default_pool else ''}."
    )
    if skipped_scaleout:
        settings.notes.append(skipped_scaleout)
    if any(s.target == SCALEOUT_TARGET for s in scenarios):
        settings.notes.append(
            f"Scale-out scenarios: each capped namespace host may use {args.scaleout_host_cpu:g} of a core "
            "(`--scaleout-host-cpu`); see the scale-out section below."
        )
    longest = max(settings.duration, settings.warmup)
    if any(s.notify_key for s in scenarios) and longest + 2 > MAX_TOKEN_SECONDS:
        raise SystemExit(f"--duration is at most {MAX_TOKEN_SECONDS - 2:g}s: wrk replays one Notify token per run")
    if len(settings.gateway_workers) > 1:
        settings.notes.append(
            f"Targets are judged on the first gateway layout ({settings.gateway_workers[0]} workers); the others are "
            "measured beside it for comparison (docs/benchmarks.md says why)."
        )
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    started = datetime.now(UTC)
    clock = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="gaap-bench-"))
    measured: list[Measured] = []
    problems: Counter[str] = Counter()
    warmup_failures: list[str] = []
    scaleout_lines: list[str] = []
    every_text_once = every_email_once = True
    delivery_lines: list[str] = []
    token_lines: list[str] = []
    every_token_counted = True
    pay_lines: list[str] = []
    every_payment_once = True
    ok = False
    try:
        if standard:
            log(f"starting PostgreSQL, Redis and the upstreams (logs in {workdir})")
        topology = Topology(
            workdir, upstream_workers=args.upstream_workers, upstream_db_pool_size=args.upstream_db_pool_size
        )
        # Only the scale-out scenarios chosen: they bring their own servers, so the loopback topology stays off.
        with topology if standard else contextlib.nullcontext():
            meter = LoadMeter(topology.process_groups)
            patience = Patience(args.patience)
            log(f"topology up in {time.monotonic() - clock:.1f}s")
            # A gateway per (upstream, worker count): the bench insert upstream, and the real notify if asked for.
            upstreams = sorted({s.upstream for s in scenarios if s.through_gateway})
            if "notify" in upstreams:
                log(f"starting notify with {args.upstream_workers} workers")
                topology.start_notify(args.upstream_workers)
            targets: dict[tuple[str, int], str] = {}
            for upstream in upstreams:
                for count in settings.gateway_workers:
                    log(f"starting a gateway with {count} worker(s) in front of {upstream}")
                    targets[upstream, count] = topology.start_gateway(count, upstream)
            if "notify" in upstreams:
                topology.make_email_template(targets["notify", settings.gateway_workers[0]])
            # Scenario by scenario, each gateway layout right after the other: the two sides of a ratio are
            # measured minutes apart at most, which matters on a machine others use too.
            for scenario in standard:
                sides: list[int | None] = [*settings.gateway_workers] if scenario.through_gateway else [None]
                for workers in sides:
                    target = targets[scenario.upstream, workers] if workers is not None else scenario.target
                    result, usage = measure(topology, scenario, target, args, meter, patience, warmup_failures)
                    entry = Measured(scenario, workers, result, usage)
                    measured.append(entry)
                    r = entry.result
                    log(
                        f"{entry.label}: {r.rps:,.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
                        f"errors: {r.describe_errors()}"
                        + (f", others' CPU {usage.foreign_cores:.2f} cores" if usage is not None else "")
                    )
            problems = topology.log_problems()
        more, scaleout_lines, scaleout_problems, every_text_once = scaleout_bench.run(
            args, scenarios, workdir / "scaleout", patience, log
        )
        measured += more
        problems += scaleout_problems
        delivery_lines, delivery_problems, every_email_once = delivery_bench.run(
            args, scenarios, workdir / "delivery", log
        )
        problems += delivery_problems
        token_lines, token_problems, every_token_counted = token_bench.run(
            args,
            scenarios,
            workdir / "token",
            log,
            baseline_rps=next(
                (m.result.rps for m in measured if m.scenario.key == "b" and not m.result.error_count), None
            ),
        )
        problems += token_problems
        pay_lines, pay_problems, every_payment_once = pay_bench.run(
            args,
            scenarios,
            workdir / "pay-flow",
            log,
            baseline_rps=next(
                (m.result.rps for m in measured if m.scenario.key == "b" and not m.result.error_count), None
            ),
        )
        problems += pay_problems
        ok = True
    except KeyboardInterrupt:
        log("interrupted: every server has been stopped")
        return 130
    finally:
        failed = any(m.result.error_count for m in measured) or bool(warmup_failures)
        failed = failed or not every_text_once or not every_email_once or not every_payment_once
        failed = failed or not every_token_counted
        if ok and not failed and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"servers' logs kept in {workdir}")

    verdicts: list[Verdict] = []
    for comparison in COMPARISONS:
        gateway_sides = any(m.scenario.through_gateway for m in measured if m.scenario.key == comparison.numerator)
        judged: list[int | None] = [*settings.gateway_workers] if gateway_sides else [None]
        verdicts += [compare(comparison, measured, workers) for workers in judged]
    extra = _summary(verdicts, settings.gateway_workers[0] if settings.gateway_workers else None)
    extra += scaleout_lines
    extra += delivery_lines
    extra += token_lines
    extra += pay_lines
    extra += _problems(problems, warmup_failures)
    args.output.write_text(render(settings, measured, verdicts, started, extra), encoding="utf-8")
    log(f"wrote {args.output} ({time.monotonic() - clock:.0f}s in all)")
    for line in extra:
        if line.startswith("- "):
            log(line[2:])
    if failed:
        log("some requests failed (see the Errors column, results.md and the servers' logs): the run is not clean")
    return 1 if failed else 0


def _problems(problems: Counter[str], warmup_failures: list[str]) -> list[str]:
    """What the servers complained about during the run, and what failed answers in warm-ups said (nothing, on a
    clean run)."""
    lines = [""]
    if problems:
        lines += ["## Server warnings and errors", "", "| Count | Server: level: event |", "|---:|---|"]
        lines += [f"| {n} | {text.replace('|', '/')} |" for text, n in problems.most_common(10)]
    else:
        lines.append("The servers logged no warning or error during the run.")
    if warmup_failures:
        lines += ["", "Failed answers during warm-ups (discarded runs, recorded for diagnosis):", ""]
        lines += [f"- `{failure}`" for failure in warmup_failures[:10]]
    return lines


def _summary(verdicts: list[Verdict], primary: int | None) -> list[str]:
    """The verdict on each target, for the production layout (the first gateway worker count)."""
    judged = [v for v in verdicts if v.comparison.target is not None and v.gateway_workers in (None, primary)]
    if not judged:
        return ["## Verdict", "", "No target was measured in this run."]
    layout = f"the gateway on {primary} worker{'s' if primary and primary > 1 else ''}" if primary else "no gateway"
    lines = ["## Verdict", "", f"Targets judged with {layout} (the first of `--gateway-workers`):", ""]
    for v in judged:
        if v.value is None:
            lines.append(f"- {v.comparison.title}: not measured (a side had errors or was not run).")
            continue
        shown = v.describe_value()
        verdict = "met" if v.met else "MISSED"
        if v.disturbed:
            verdict += " (not conclusive: measured while other processes used the CPU, see the table)"
        lines.append(f"- {v.comparison.title}: {shown}, target {v.describe_target()}: {verdict}.")
    return lines


if __name__ == "__main__":
    sys.exit(main())
