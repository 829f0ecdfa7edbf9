"""Turning one run's wrk results into `bench/results.md`: numbers, ratios and verdicts from that run only."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.load import CLIENT, Usage
from bench.scenarios import Comparison, Scenario
from bench.wrk import WrkResult

ROOT = Path(__file__).resolve().parents[1]
#: Above this many cores used by other processes during a run, its numbers are flagged as disturbed.
DISTURBED_CORES = 0.15


@dataclass(frozen=True)
class Measured:
    scenario: Scenario
    #: Gateway worker count for scenarios through the gateway, else None.
    gateway_workers: int | None
    result: WrkResult
    #: Where the CPU went during the measured run (None where it cannot be measured).
    usage: Usage | None = None

    @property
    def label(self) -> str:
        title = f"({self.scenario.key}) {self.scenario.title}"
        if self.gateway_workers is not None:
            title += f" [gateway: {self.gateway_workers} worker{'s' if self.gateway_workers > 1 else ''}]"
        return title


@dataclass(frozen=True)
class Verdict:
    comparison: Comparison
    gateway_workers: int | None
    value: float | None
    #: None when the comparison has no target or could not be computed.
    met: bool | None
    #: A side was measured while other processes used a noticeable share of the CPU: not conclusive.
    disturbed: bool = False

    def describe_met(self) -> str:
        shown = {True: "yes", False: "**no**", None: "-"}[self.met]
        return f"{shown} (disturbed)" if self.disturbed and self.met is not None else shown

    def describe_value(self) -> str:
        if self.value is None:
            return "n/a"
        shown = {"throughput": f"{self.value:.3f}", "added_p50": f"{self.value:+.3f} ms"}
        return shown.get(self.comparison.kind, f"{self.value:.2f} ms")

    def describe_target(self) -> str:
        if self.comparison.target is None:
            return "-"
        bound, limit = self.comparison.target
        unit = " ms" if self.comparison.kind in ("added_p50", "p99") else ""
        return f"{'≥' if bound == 'min' else '≤'} {limit:g}{unit}"


@dataclass
class RunSettings:
    duration: float
    warmup: float
    connections: int
    threads: int
    upstream_workers: int
    gateway_workers: list[int]
    quick: bool
    notes: list[str] = field(default_factory=list)


def compare(comparison: Comparison, measured: list[Measured], gateway_workers: int | None) -> Verdict:
    """The comparison for one gateway layout: each side is the scenario measured with that layout (or without
    the gateway, for scenarios that do not go through it)."""

    def pick(key: str) -> Measured | None:
        for m in measured:
            if m.scenario.key == key and m.gateway_workers in (None, gateway_workers):
                return m
        return None

    upper = pick(comparison.numerator)
    lower = upper if comparison.kind == "p99" else pick(comparison.denominator)
    if upper is None or lower is None or upper.result.error_count or lower.result.error_count:
        return Verdict(comparison, gateway_workers, None, None)
    top, bottom = upper.result, lower.result
    disturbed = any(m.usage is not None and m.usage.foreign_cores >= DISTURBED_CORES for m in (upper, lower))
    if comparison.kind == "throughput":
        value = top.rps / bottom.rps if bottom.rps else 0.0
    elif comparison.kind == "p99":
        value = top.p99_ms
    else:
        value = (top.p50_us - bottom.p50_us) / 1000
    met = None
    if comparison.target is not None:
        bound, limit = comparison.target
        met = value >= limit if bound == "min" else value <= limit
    return Verdict(comparison, gateway_workers, value, met, disturbed)


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False, cwd=ROOT)
    except OSError:
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "sqlalchemy", "asyncpg", "aiohttp")
    )
    commit = _command(["git", "rev-parse", "--short", "HEAD"])
    dirty = _command(["git", "status", "--porcelain", "--untracked-files=no"])
    return [
        ("CPUs (nproc)", _command(["nproc"])),
        ("CPU", cpu),
        ("Kernel", platform.release()),
        ("Python", platform.python_version()),
        ("Packages", versions),
        ("wrk", _command(["wrk", "-v"]).split(" Copyright")[0]),
        ("Commit", commit + (" (with uncommitted changes)" if dirty not in ("", "?", "unknown") else "")),
    ]


#: Column order of the CPU table; groups not listed here (a later scenario's own servers) follow.
_CPU_ORDER = ("gateway", "insert", "bare", "postgres", "redis", CLIENT)


def _cpu_table(measured: list[Measured]) -> list[str]:
    """CPU time per request of each process group: contention barely moves it, and it explains the ratios."""
    rows = [(m, _merge_gateways(m.usage.per_request_us(m.result.requests))) for m in measured if m.usage]
    rows = [(m, per) for m, per in rows if per]
    if not rows:
        return []
    names = [n for n in _CPU_ORDER if any(per.get(n) for _, per in rows)]
    names += sorted({n for _, per in rows for n in per} - set(names) - set(_CPU_ORDER))
    lines = [
        "",
        "CPU time per request (µs; user + system of each process group, over the measured run; `wrk` includes the "
        "harness, which is idle meanwhile):",
        "",
        "| Scenario | " + " | ".join(names) + " | all |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for m, per in rows:
        cells = [f"{per.get(n, 0.0):,.0f}" for n in names]
        lines.append(f"| {m.label} | " + " | ".join(cells) + f" | {sum(per.values()):,.0f} |")
    return lines


def _merge_gateways(per: dict[str, float]) -> dict[str, float]:
    """One `gateway` column: the layouts run side by side and only the one measured is busy."""
    merged: dict[str, float] = {}
    for name, value in per.items():
        key = "gateway" if name.startswith("gateway-") else name
        merged[key] = merged.get(key, 0.0) + value
    return merged


def _fmt_cores(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"**{value:.2f}**" if value >= DISTURBED_CORES else f"{value:.2f}"


def _fmt_rps(value: float) -> str:
    return f"{value:,.0f}"


def render(
    settings: RunSettings, measured: list[Measured], verdicts: list[Verdict], started: datetime, extra: list[str]
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench.run`); every number below comes from the one run described here.",
        "See docs/benchmarks.md for what each scenario measures and how to read the ratios.",
        "",
        f"- Date: {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    ]
    lines += [f"- {name}: {value}" for name, value in machine()]
    lines += [
        "",
        "## Settings",
        "",
        f"- Load: wrk `-t{settings.threads} -c{settings.connections} -d{settings.duration:g}s --latency`; "
        f"one-connection scenarios `-t1 -c1 -d{settings.duration:g}s`; each preceded by a "
        f"{settings.warmup:g}s warm-up run of the same shape (discarded).",
        "- Topology (all on loopback, one process tree each): throwaway PostgreSQL 15 and Redis; the bench upstream "
        f"under uvicorn with {settings.upstream_workers} workers (uvloop, httptools, no access log); one gateway per "
        "worker count below, side by side (idle when not measured), each through `gaap serve gateway`; "
        "`GAAP_ENV=production`, JSON logs at INFO. Scenarios run in the order of the table.",
        f"- Gateway worker counts measured: {', '.join(str(n) for n in settings.gateway_workers)}.",
    ]
    if settings.quick:
        lines.append("- **Quick run** (`--quick`): a smoke test; short runs are noisy, do not quote these numbers.")
    lines += [f"- {note}" for note in settings.notes]
    lines += ["", "## Scenarios", ""]
    described: set[str] = set()
    for m in measured:
        if m.scenario.what and m.scenario.key not in described:
            described.add(m.scenario.key)
            lines.append(f"- ({m.scenario.key}) {m.scenario.what}")
    lines += [
        "",
        "| Scenario | Connections | Requests/s | p50 (ms) | p99 (ms) | Errors | Others' CPU (cores) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for m in measured:
        r = m.result
        lines.append(
            f"| {m.label} | {r.connections} | {_fmt_rps(r.rps)} | {r.p50_ms:.2f} "
            f"| {r.p99_ms:.2f} | {r.describe_errors()} | {_fmt_cores(m.usage.foreign_cores if m.usage else None)} |"
        )
    lines += [
        "",
        "Others' CPU: cores used by processes outside this run while the scenario was measured; in bold from "
        f"{DISTURBED_CORES:g} (disturbed: its throughput and latency are pessimistic).",
    ]
    lines += _cpu_table(measured)
    lines += [
        "",
        "## Ratios and targets",
        "",
        "| Comparison | Gateway workers | Value | Target | Met |",
        "|---|---:|---:|---|---|",
    ]
    for v in verdicts:
        value = v.describe_value()
        met = v.describe_met()
        workers = "-" if v.gateway_workers is None else str(v.gateway_workers)
        lines.append(f"| {v.comparison.title} | {workers} | {value} | {v.describe_target()} | {met} |")
    lines += ["", *extra]
    lines += [
        "",
        "## Commands",
        "",
        "```",
        *[f"{m.label}: {m.result.command}" for m in measured],
        "```",
        "",
    ]
    return "\n".join(lines)
