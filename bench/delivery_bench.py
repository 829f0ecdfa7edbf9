"""The delivery scenarios of `make bench`: (f) sustained email delivery from the queue to the SMTP sink, and (g) a
bulk job from upload to every row delivered, on the delivery topology (`bench.delivery`).

Order of the phase, in one topology:

1. The sink alone: `--sink-blast` messages over four reused SMTP sessions from the harness, so that the sink's
   own rate and CPU per message are known before it is used to measure notify.
2. (f): with no notify worker running, `--delivery-emails` sends through the gateway (as fast as it answers
   them), each a committed row and a `deliver` job on the normal lane. Then `--delivery-workers` notify workers
   start and the clock runs until the sink holds every email (time to the sink) and every row is `delivered` (the
   sink's receipt, through the gateway, applied by notify's API: time to the final status).
3. (g): with the workers running, a `--bulk-rows` CSV through the gateway's `POST /v2/notifications/bulk`: the
   seconds to the 201 (every row checked and stored), then to every row at the sink and every row `delivered`.

After each, the sink's Maildir is compared with notify's rows (`bench.delivery.compare`): lost, duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.delivery import (
    RECIPIENT,
    DeliveryTopology,
    Ledger,
    accepted_count,
    blast_sink,
    compare,
    duplicate_count,
    first_stored_since,
    preload,
    stored_message_ids,
    tmpfs_dir,
)
from bench.load import CLIENT, LoadMeter, Usage
from bench.scenarios import DELIVERY_TARGET, Scenario
from bench.topology import log_problems
from gaap.db.engine import Database

#: The issue's goal for (f), emails a second on this 2-core machine.
GOAL_PER_SECOND = 1000.0
#: (full size, --quick size) of each.
SIZES = {"emails": (20_000, 2_000), "rows": (100_000, 5_000), "blast": (10_000, 1_000)}
FINAL = ("delivered", "permanent-failure", "temporary-failure", "technical-failure")
#: Where the CPU table's columns come from: process group name prefix -> column.
_COLUMNS = (("gateway", "gateway"), ("notify-worker", "notify worker"), ("notify", "notify API"), ("sink", "sink"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delivery-emails",
        type=int,
        default=None,
        help=f"emails queued for (f) (default {SIZES['emails'][0]:,}; --quick {SIZES['emails'][1]:,})",
    )
    parser.add_argument(
        "--bulk-rows",
        type=int,
        default=None,
        help=f"rows of (g)'s bulk job, at most 100,000 (default {SIZES['rows'][0]:,}; --quick {SIZES['rows'][1]:,})",
    )
    parser.add_argument(
        "--delivery-workers", type=int, default=1, help="notify worker processes for (f) and (g) (default 1)"
    )
    parser.add_argument(
        "--sink-blast",
        type=int,
        default=None,
        help=f"messages sent to the sink alone first (default {SIZES['blast'][0]:,}; --quick {SIZES['blast'][1]:,})",
    )
    parser.add_argument(
        "--delivery-timeout",
        type=float,
        default=3600.0,
        help="seconds (f) or (g) may take to deliver everything before the run gives up (default 3600: on a busy "
        "2-core machine 100,000 emails take about half an hour)",
    )


def _size(args: argparse.Namespace, name: str, value: int | None) -> int:
    return value if value is not None else SIZES[name][1 if args.quick else 0]


@dataclass
class Timeline:
    """When things happened in one delivery run (`time.monotonic()` readings) and what they cost."""

    count: int
    started: float
    #: `time.time()` at `started`, to place the sink's file times on the same clock.
    wall_started: float = 0.0
    ready: float | None = None
    first_at_sink: float | None = None
    all_at_sink: float | None = None
    all_final: float | None = None
    usage_to_sink: Usage | None = None
    usage_to_final: Usage | None = None
    statuses: Counter[str] = field(default_factory=Counter)
    load: tuple[float, float] = (0.0, 0.0)

    def seconds_to(self, moment: float | None) -> float | None:
        return None if moment is None else moment - self.started

    def rate_to(self, moment: float | None) -> float | None:
        took = self.seconds_to(moment)
        return self.count / took if took else None

    @property
    def sustained(self) -> float | None:
        """Emails a second at the sink from the first to the last (start-up excluded)."""
        if self.first_at_sink is None or self.all_at_sink is None or self.all_at_sink <= self.first_at_sink:
            return None
        return self.count / (self.all_at_sink - self.first_at_sink)


async def _final_count(db: Database, job_id: str | None) -> Counter[str]:
    where = "job_id = CAST(:job AS uuid)" if job_id else "job_id IS NULL"
    async with db.read_session() as session:
        rows = await session.execute(
            text(f"SELECT status, count(*) FROM notifications WHERE {where} GROUP BY status"),
            {"job": job_id} if job_id else {},
        )
        return Counter(dict(rows.all()))


async def _ids(db: Database, job_id: str) -> list[str]:
    async with db.read_session() as session:
        rows = await session.execute(
            text("SELECT CAST(id AS text) FROM notifications WHERE job_id = CAST(:job AS uuid)"), {"job": job_id}
        )
        return [row[0] for row in rows.all()]


async def follow(
    topology: DeliveryTopology, meter: LoadMeter, timeline: Timeline, base: int, job_id: str | None, patience: float
) -> None:
    """Watch the sink's counter (every 0.05 s) until it holds `timeline.count` more than `base`, then notify's rows
    (every 0.1 s) until every one is final; fills `timeline` (the first message's arrival from the sink's files)."""
    db = Database(topology.notify_db, pool_size=1)
    start = meter.snapshot()
    deadline = timeline.started + patience
    try:
        while timeline.all_at_sink is None and time.monotonic() < deadline:
            topology.check_alive()
            held = accepted_count(topology.sink_dir) - base
            now = time.monotonic()
            if held > 0 and timeline.first_at_sink is None:
                timeline.first_at_sink = now
            if held >= timeline.count:
                timeline.all_at_sink = now
                timeline.usage_to_sink = meter.usage(start)
                break
            await asyncio.sleep(0.05)
        while time.monotonic() < deadline:
            timeline.statuses = await _final_count(db, job_id)
            if sum(timeline.statuses[s] for s in FINAL) >= timeline.count:
                timeline.all_final = time.monotonic()
                timeline.usage_to_final = meter.usage(start)
                break
            await asyncio.sleep(0.1)
        timeline.statuses = await _final_count(db, job_id)
    finally:
        await db.dispose()
        timeline.load = os.getloadavg()[:2]
    first = first_stored_since(topology.sink_dir, timeline.wall_started)
    if first is not None:
        timeline.first_at_sink = timeline.started + (first - timeline.wall_started)


def _bulk_csv(rows: int) -> bytes:
    lines = ["email address,name,date,place,urgent"]
    lines += [f"{RECIPIENT},Ada {i},1 December 2026,Room {i % 40},{'yes' if i % 2 else ''}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Result:
    """One scenario's outcome, for results.md."""

    scenario: Scenario
    timeline: Timeline
    ledger: Ledger | None
    notes: list[str] = field(default_factory=list)
    upload_seconds: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        finished = self.timeline.all_final is not None and set(self.timeline.statuses) <= {"delivered"}
        return finished and self.ledger is not None and self.ledger.clean and not self.failures


def run(
    args: argparse.Namespace, scenarios: list[Scenario], workdir: Path, log: Callable[[str], None]
) -> tuple[list[str], Counter[str], bool]:
    """Run the selected delivery scenarios; returns results.md's section, what the servers logged at warning or
    above, and whether every email reached the sink exactly once and ended `delivered`."""
    chosen = {s.key: s for s in scenarios if s.target == DELIVERY_TARGET}
    if not chosen:
        return [], Counter(), True
    emails, rows = _size(args, "emails", args.delivery_emails), _size(args, "rows", args.bulk_rows)
    blast = _size(args, "blast", args.sink_blast)
    if not 0 < rows <= 100_000 or emails <= 0 or args.delivery_workers < 1:
        raise SystemExit("--bulk-rows must be 1..100000, --delivery-emails and --delivery-workers at least 1")
    workdir.mkdir(parents=True, exist_ok=True)
    sink_dir = tmpfs_dir("gaap-bench-sink-")
    results: list[Result] = []
    sink_line = ""
    clock = time.monotonic()
    try:
        topology = DeliveryTopology(workdir, sink_dir, upstream_workers=args.upstream_workers)
        with topology:
            topology.start_notify(args.upstream_workers)
            gateway = topology.start_gateway(2, "notify")
            template_id = topology.make_email_template(gateway)
            topology.start_sink(gateway)
            meter = LoadMeter(topology.process_groups)
            log(f"delivery: topology up in {time.monotonic() - clock:.1f}s (logs in {workdir}, sink in {sink_dir})")
            sink_line = _sink_alone(topology, meter, blast, log)
            if "f" in chosen:
                results.append(_sustained(chosen["f"], topology, meter, gateway, template_id, emails, args, log))
            else:
                started, ready = topology.start_workers(args.delivery_workers)
                log(f"delivery: {args.delivery_workers} worker(s) ready in {ready - started:.1f}s")
            if "g" in chosen:
                results.append(_bulk(chosen["g"], topology, meter, gateway, template_id, rows, args, log))
            problems = log_problems(workdir)
    finally:
        shutil.rmtree(sink_dir, ignore_errors=True)
    clean = all(r.clean for r in results)
    return _section(results, sink_line, args.delivery_workers), problems, clean


def _sink_alone(topology: DeliveryTopology, meter: LoadMeter, count: int, log: Callable[[str], None]) -> str:
    start = meter.snapshot()
    seconds = asyncio.run(blast_sink(topology.smtp_port, count))
    usage = meter.usage(start)
    sink_us = usage.cpu.get("sink", 0.0) / count * 1e6 if usage else None
    rate = count / seconds
    shown = f", sink CPU {sink_us:,.0f} µs a message" if sink_us is not None else ""
    log(f"delivery: the sink alone took {rate:,.0f} messages/s over 4 sessions{shown}")
    cores = f" (so {sink_us * GOAL_PER_SECOND / 1e6:.2f} of a core at 1,000 a second)" if sink_us else ""
    return (
        f"The SMTP sink alone (`gaap.embedded.smtp_sink`, Maildir on tmpfs): {count:,} messages from the harness over "
        f"4 reused aiosmtplib sessions at {rate:,.0f} a second, the sink using "
        f"{sink_us or 0:,.0f} µs of CPU a message{cores}; the client shares the machine, so the rate is a floor."
    )


def _sustained(
    scenario: Scenario,
    topology: DeliveryTopology,
    meter: LoadMeter,
    gateway: str,
    template_id: str,
    count: int,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> Result:
    log(f"delivery (f): queueing {count:,} emails through the gateway, no worker running")
    loaded = asyncio.run(preload(topology, gateway, template_id, count))
    log(f"delivery (f): the API took {len(loaded.ids):,} in {loaded.seconds:.1f}s ({loaded.rate:,.0f}/s)")
    base, repeats = accepted_count(topology.sink_dir), duplicate_count(topology.sink_dir)
    previous = set(stored_message_ids(topology.sink_dir))
    wall = time.time()
    started, ready = topology.start_workers(args.delivery_workers)
    timeline = Timeline(count=len(loaded.ids), started=started, wall_started=wall, ready=ready)
    asyncio.run(follow(topology, meter, timeline, base, None, args.delivery_timeout))
    ledger = compare(topology.sink_dir, loaded.ids, duplicate_count(topology.sink_dir) - repeats, previous)
    result = Result(scenario, timeline, ledger, failures=loaded.failures)
    result.notes.append(
        f"queued through the gateway at {loaded.rate:,.0f} sends a second with no worker running "
        f"({len(loaded.failures)} refused); the {args.delivery_workers} worker(s) answered ready "
        f"{ready - started:.1f} s after their start"
    )
    _log_result(result, log)
    return result


def _bulk(
    scenario: Scenario,
    topology: DeliveryTopology,
    meter: LoadMeter,
    gateway: str,
    template_id: str,
    rows: int,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> Result:
    file = _bulk_csv(rows)
    body = {"name": f"bench {rows} rows", "template_id": template_id, "csv": base64.b64encode(file).decode()}
    base, repeats = accepted_count(topology.sink_dir), duplicate_count(topology.sink_dir)
    previous = set(stored_message_ids(topology.sink_dir))
    log(f"delivery (g): uploading a {rows:,}-row CSV ({len(file) / 1e6:.1f} MB) through the gateway")
    uploaded = time.monotonic()
    answer = httpx.post(
        topology.url(gateway) + "/v2/notifications/bulk",
        json=body,
        headers={"Authorization": topology.notify_authorization(10)},
        timeout=httpx.Timeout(600.0),
    )
    accepted, wall = time.monotonic(), time.time()
    if answer.status_code != 201:
        raise RuntimeError(f"(g) the bulk upload was answered {answer.status_code}: {answer.text[:500]}")
    job_id = answer.json()["data"]["id"]
    timeline = Timeline(count=rows, started=accepted, wall_started=wall)
    asyncio.run(follow(topology, meter, timeline, base, job_id, args.delivery_timeout))
    ids = asyncio.run(_job_ids(topology, job_id))
    ledger = compare(topology.sink_dir, ids, duplicate_count(topology.sink_dir) - repeats, previous)
    result = Result(scenario, timeline, ledger, upload_seconds=accepted - uploaded)
    if len(ids) != rows:
        result.failures.append(f"the job holds {len(ids)} notifications, not {rows}")
    progress = httpx.get(
        topology.url(gateway) + f"/v2/jobs/{job_id}", headers={"Authorization": topology.notify_authorization(10)}
    ).json()["data"]
    result.notes.append(f"`GET /v2/jobs/{{id}}` at the end: `{progress['job_status']}`, {progress['statuses']}")
    _log_result(result, log)
    return result


async def _job_ids(topology: DeliveryTopology, job_id: str) -> list[str]:
    db = Database(topology.notify_db, pool_size=1)
    try:
        return await _ids(db, job_id)
    finally:
        await db.dispose()


def _log_result(result: Result, log: Callable[[str], None]) -> None:
    t, key = result.timeline, result.scenario.key
    sink, final = t.seconds_to(t.all_at_sink), t.seconds_to(t.all_final)
    log(
        f"delivery ({key}): {t.count:,} emails; at the sink after {_s(sink)} ({_r(t.rate_to(t.all_at_sink))}/s, "
        f"sustained {_r(t.sustained)}/s), all delivered after {_s(final)}; statuses {dict(t.statuses)}; "
        f"{_ledger(result.ledger)}; load average {t.load[0]:.2f}"
    )


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _r(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ledger(ledger: Ledger | None) -> str:
    if ledger is None:
        return "not compared"
    return f"lost {ledger.lost}, duplicated {ledger.duplicated}, unexpected {ledger.unexpected}"


def _cpu_per_email(usage: Usage | None, count: int) -> dict[str, float]:
    """µs of CPU an email cost each process group (replicas and layouts summed), over the given window."""
    if usage is None or not count:
        return {}
    per: dict[str, float] = {}
    for name, seconds in usage.cpu.items():
        column = next((col for prefix, col in _COLUMNS if name.startswith(prefix)), name)
        column = "harness" if name == CLIENT else column
        per[column] = per.get(column, 0.0) + seconds / count * 1e6
    return {name: value for name, value in per.items() if value >= 0.5}


def _section(results: list[Result], sink_line: str, workers: int) -> list[str]:
    lines = ["", "## Delivery: queue to SMTP sink (f) and a bulk job (g)", ""]
    lines += [f"- ({r.scenario.key}) {r.scenario.what}" for r in results]
    lines += ["", sink_line, ""]
    lines += [
        f"Notify workers: {workers} (`gaap worker notify`, production settings). An email is *at the sink* when the "
        "sink has stored it, and *delivered* when the sink's receipt, posted through the gateway, has been applied "
        "by notify's API (the final status). Times run from the workers' start (f) or the 201 (g).",
        "",
        "| Run | Emails | To the sink (s) | Emails/s to the sink | Sustained at the sink (/s) | To `delivered` (s) "
        "| Emails/s to `delivered` | Upload to 201 (s) | Lost | Duplicated | Load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t, ledger = r.timeline, r.ledger
        upload = f"{r.upload_seconds:.1f}" if r.upload_seconds is not None else "-"
        lines.append(
            f"| ({r.scenario.key}) {r.scenario.title} | {t.count:,} | {_s(t.seconds_to(t.all_at_sink))[:-2]} "
            f"| {_r(t.rate_to(t.all_at_sink))} | {_r(t.sustained)} | {_s(t.seconds_to(t.all_final))[:-2]} "
            f"| {_r(t.rate_to(t.all_final))} | {upload} | {ledger.lost if ledger else 'n/a'} "
            f"| {ledger.duplicated if ledger else 'n/a'} | {t.load[0]:.2f} |"
        )
    lines += _cpu_lines(results)
    lines.append("")
    for r in results:
        lines += [f"- ({r.scenario.key}) {note}." for note in r.notes]
        if r.failures:
            lines.append(f"- ({r.scenario.key}) **failures**: {'; '.join(r.failures[:10])}")
        if not r.clean:
            lines.append(f"- ({r.scenario.key}) **not clean**: statuses {dict(r.timeline.statuses)}.")
    sustained = next((r for r in results if r.scenario.key == "f"), None)
    if sustained is not None:
        rate = sustained.timeline.sustained
        verdict = "met" if rate is not None and rate >= GOAL_PER_SECOND else "MISSED"
        lines.append(
            f"- Goal: ≥ {GOAL_PER_SECOND:,.0f} emails a second from the queue to the sink (f): {_r(rate)}, {verdict}."
        )
    return lines


def _cpu_lines(results: list[Result]) -> list[str]:
    rows = [(r, _cpu_per_email(r.timeline.usage_to_final, r.timeline.count)) for r in results]
    rows = [(r, per) for r, per in rows if per]
    if not rows:
        return []
    order = ["gateway", "notify API", "notify worker", "sink", "postgres", "redis", "harness"]
    names = [n for n in order if any(n in per for _, per in rows)]
    names += sorted({n for _, per in rows for n in per} - set(names))
    lines = [
        "",
        "CPU time per email (µs; user + system of each process group from the workers' start, or the 201, to every "
        "email `delivered`: sending, receipts and the harness's polling):",
        "",
        "| Run | " + " | ".join(names) + " | all |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for r, per in rows:
        cells = [f"{per.get(n, 0.0):,.0f}" for n in names]
        lines.append(f"| ({r.scenario.key}) | " + " | ".join(cells) + f" | {sum(per.values()):,.0f} |")
    return lines
