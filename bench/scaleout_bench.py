"""The scale-out scenarios of `make bench`: sustained Notify sends through the round-robin balancer, with one replica
set and then two (`bench.scaleout`), in one run, and what became of every text they sent.

Each measured run is wrk sending `POST /v2/notifications/sms` with a live key through the balancer while every
notify worker delivers to the fake SMS provider and the provider's receipts come back through the balancer (so
"sustained": accepting, delivering and recording receipts at once). After each run the harness waits until every
text is delivered (`--scaleout-drain`), so the next run starts without a backlog. At the end, notify's rows are
compared with the provider's store (`bench.ledger`): lost and duplicated texts over the whole run.

Two pairs, each `(1 replica set, 2 replica sets)`:
- (s1), (s2): every host capped at `--scaleout-host-cpu` of a core (a cgroup per namespace host), so each replica
  runs on a small machine of its own, as it would on separate hosts; the shared servers (PostgreSQL, Redis, the
  balancer, the fake provider, wrk) are not capped. Their ratio is the scale-out target (≥ 1.7).
- (u1), (u2): no caps, every host sharing the machine's cores. On a 2-core machine one replica set can already
  use both cores, so this ratio shows the machine's ceiling, not the platform's scaling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from bench import wrk
from bench.ledger import Delivery, compare, wait_for_delivery
from bench.load import LoadMeter, Usage
from bench.report import Measured
from bench.scaleout import ScaleOut
from bench.scenarios import SCALEOUT_TARGET as TARGET
from bench.scenarios import Scenario
from bench.topology import log_problems, notify_authorization

if TYPE_CHECKING:
    from bench.run import Patience

#: Scenario key -> (replica sets, hosts capped).
RUNS = {"s1": (1, True), "s2": (2, True), "u1": (1, False), "u2": (2, False)}
#: One number for every text: the drama range, outside notify's smoke-test numbers and the provider's failing ones.
PHONE = "07700900300"
QUIET_CORES = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scaleout-host-cpu",
        type=float,
        default=0.2,
        help="cores each namespace host may use in the capped scale-out scenarios (s1, s2) (default 0.2: small enough "
        "that two replica sets' hosts together stay within a 2-core machine)",
    )
    parser.add_argument(
        "--scaleout-drain",
        type=float,
        default=90.0,
        help="seconds to wait, after each scale-out run, for every accepted text to be delivered (default 90)",
    )


def sms_body(template_id: str) -> bytes:
    return orjson.dumps({"phone_number": PHONE, "template_id": template_id, "personalisation": {"ref": "bench"}})


def _by_role(usage: Usage | None) -> Usage | None:
    """CPU per role, summed over replicas (`notify-0` and `notify-1` are `notify`)."""
    if usage is None:
        return None
    cpu: dict[str, float] = {}
    for name, seconds in usage.cpu.items():
        head, _, tail = name.rpartition("-")
        role = head if tail.isdigit() else name
        cpu[role] = cpu.get(role, 0.0) + seconds
    return replace(usage, cpu=cpu)


def _wrk(so: ScaleOut, scenario: Scenario, args: argparse.Namespace, seconds: float) -> wrk.WrkResult:
    """One wrk run through the balancer, with a token minted for it (wrk replays one)."""
    assert so.tenant is not None
    token = notify_authorization(so.tenant.service_id, so.tenant.notify_key[-36:], seconds + 2)
    return wrk.run(
        so.balancer_url + scenario.path,
        method=scenario.method,
        body=sms_body(so.tenant.sms_template),
        authorization=token,
        connections=args.connections,
        threads=args.threads,
        duration=seconds,
    )


def _preflight(so: ScaleOut, template_id: str) -> None:
    """One send through the balancer, checked, before any load."""
    assert so.tenant is not None
    authorization = notify_authorization(so.tenant.service_id, so.tenant.notify_key[-36:], 10)
    answer = httpx.post(
        f"{so.balancer_url}/v2/notifications/sms",
        content=sms_body(template_id),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        timeout=20,
    )
    body: Any = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else None
    if answer.status_code != 201 or not isinstance(body, dict) or body.get("template", {}).get("id") != template_id:
        raise RuntimeError(f"(scale-out) the balancer answered {answer.status_code}: {answer.text[:500]}")


async def _ledger(so: ScaleOut, patience: float | None) -> tuple[Delivery, float]:
    db = so.database("notify")
    try:
        if patience is None:
            return await compare(db, so.workdir / "sms"), 0.0
        return await wait_for_delivery(db, so.workdir / "sms", patience)
    finally:
        await db.dispose()


def run(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    workdir: Path,
    patience: Patience,
    log: Any,
) -> tuple[list[Measured], list[str], Counter[str], bool]:
    """Measure the selected scale-out scenarios; returns the measurements, results.md's section on them, what the
    servers logged at warning or above, and whether every text was delivered exactly once."""
    chosen = [s for s in scenarios if s.target == TARGET]
    if not chosen:
        return [], [], Counter(), True
    duration, warmup = wrk.seconds(args.duration), wrk.seconds(args.warmup)
    cap = args.scaleout_host_cpu
    measured: list[Measured] = []
    drains: list[str] = []
    workdir.mkdir(parents=True, exist_ok=True)
    capped = any(RUNS[s.key][1] for s in chosen)
    so = ScaleOut(workdir, cpu=cap if capped else None, workers=("notify",))
    clock = time.monotonic()
    with contextlib.closing(so):
        so.start()
        log(f"scale-out: replica set 0 up in {time.monotonic() - clock:.1f}s (logs in {workdir})")
        assert so.tenant is not None
        assert so.net is not None
        meter = LoadMeter(so.process_groups)
        for sets in (1, 2):
            if sets == 2:
                if not any(RUNS[s.key][0] == 2 for s in chosen):
                    break
                clock = time.monotonic()
                so.add_replica_sets(1)
                log(f"scale-out: replica set 1 up in {time.monotonic() - clock:.1f}s")
            _preflight(so, so.tenant.sms_template)
            for scenario in [s for s in chosen if RUNS[s.key][0] == sets]:
                if capped:
                    so.net.set_cpu(cap if RUNS[scenario.key][1] else 0)
                if patience.left > 0:
                    began = time.monotonic()
                    meter.wait_for_quiet(QUIET_CORES, min(args.quiet_wait, patience.left))
                    patience.spend(began)
                if warmup > 0:
                    _wrk(so, scenario, args, warmup)
                start = meter.snapshot()
                result = _wrk(so, scenario, args, duration)
                usage = _by_role(meter.usage(start))
                so.check_alive()
                entry = Measured(scenario, None, result, usage)
                measured.append(entry)
                delivery, waited = asyncio.run(_ledger(so, args.scaleout_drain))
                drains.append(
                    f"| ({scenario.key}) | {result.rps:,.0f} | {waited:.1f} | {delivery.rows:,} | "
                    f"{'yes' if delivery.finished else '**no**'} |"
                )
                log(
                    f"{entry.label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, errors: "
                    f"{result.describe_errors()}; delivered within {waited:.1f}s: {delivery.finished}"
                )
        final, _ = asyncio.run(_ledger(so, None))
        problems = log_problems(workdir)
    clean = not final.lost and final.duplicated == 0 and not final.unknown
    lines = _section(cap, args.scaleout_drain, drains, final, clean)
    return measured, lines, problems, clean


def _section(cap: float, drain: float, drains: list[str], final: Delivery, clean: bool) -> list[str]:
    statuses = ", ".join(f"{status} {n:,}" for status, n in sorted(final.statuses.items()))
    return [
        "",
        "## Scale-out: lost and duplicated texts",
        "",
        "Namespace hosts (one per process: gateway, notify, pay and identity APIs, notify worker, per replica set), "
        "one PostgreSQL and one Redis, a round-robin TCP balancer in front of the gateways; every notify worker "
        f"delivers to the fake SMS provider during the runs. Capped runs give each host {cap:g} of a core; shared "
        "servers are never capped. After each run the harness waits (up to "
        f"{drain:g} s) for every accepted text to be delivered:",
        "",
        "| Run | Requests/s | Seconds to deliver the backlog | Texts so far | All delivered |",
        "|---|---:|---:|---:|---|",
        *drains,
        "",
        f"Over the whole run (warm-ups included): {final.rows:,} texts accepted and stored ({statuses}); "
        f"**lost: {len(final.lost)}**, **duplicated: {final.duplicated}** ({len(final.copies)} held twice by the "
        f"provider, {final.refused_repeats} repeated sends refused by it), texts the provider got that notify has no "
        f"row for: {len(final.unknown)}. {'Clean.' if clean else '**Not clean: see the servers logs.**'}",
    ]
