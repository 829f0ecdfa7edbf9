"""Where the CPU went while we measured: ours, per server, and everyone else's.

On a 2-core machine a test suite or a browser running beside the benchmark takes a large share of the CPU and
skews every number, ratios included (the two sides of a ratio are measured at different times). Two figures make
a run readable anyway:

- *CPU per request* of each server (its process group's user + system time over the requests served): what a
  request costs each process, which contention barely moves, and which explains a ratio (on a saturated machine,
  throughput is the cores divided by the CPU a request needs in all processes together).
- *Foreign CPU*: everything the kernel counted as busy (`/proc/stat`) minus what our process groups, wrk and the
  harness used. Before a scenario the harness can wait (briefly) for the machine to be quiet.

Linux only; elsewhere the figures are simply absent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: The name under which wrk's (and the harness's own) CPU is reported.
CLIENT = "wrk"


def _busy_ticks() -> int | None:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


def _group_ticks(groups: dict[str, int]) -> dict[str, int]:
    """CPU ticks per server: every live process descending from (or in the process group of) each named leader,
    with the children each has reaped, so a PostgreSQL backend (which starts its own session) or a uvicorn
    worker that exits mid-window still counts."""
    leaders = {pgid: name for name, pgid in groups.items()}
    parent: dict[int, int] = {}
    ticks: dict[int, tuple[int, int]] = {}  # pid -> (process group, ticks)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        ticks[pid] = (int(fields[2]), sum(int(v) for v in fields[11:15]))  # utime, stime, cutime, cstime
    totals = dict.fromkeys(groups, 0)
    for pid, (pgid, used) in ticks.items():
        owner, hop = leaders.get(pgid), pid
        while owner is None and hop > 1:
            owner, hop = leaders.get(hop), parent.get(hop, 0)
        if owner is not None:
            totals[owner] += used
    return totals


def _own_ticks() -> float:
    """The harness and its reaped children (wrk runs to completion inside the window)."""
    t = os.times()
    return (t.user + t.system + t.children_user + t.children_system) * _HZ


@dataclass(frozen=True)
class Snapshot:
    at: float
    busy: int
    groups: dict[str, int]
    own: float


@dataclass(frozen=True)
class Usage:
    seconds: float
    #: CPU seconds per process group (plus `CLIENT` for wrk and the harness).
    cpu: dict[str, float]
    #: Average cores used by processes that are not ours.
    foreign_cores: float

    def per_request_us(self, requests: int) -> dict[str, float]:
        return {name: seconds / requests * 1e6 for name, seconds in self.cpu.items()} if requests else {}


class LoadMeter:
    """`usage(start)`: what was used since `start = meter.snapshot()`; `groups()` names our process groups."""

    def __init__(self, groups: Callable[[], dict[str, int]]) -> None:
        self._groups = groups
        self.available = _busy_ticks() is not None

    def snapshot(self) -> Snapshot | None:
        busy = _busy_ticks()
        if busy is None:
            return None
        return Snapshot(time.monotonic(), busy, _group_ticks(self._groups()), _own_ticks())

    def usage(self, start: Snapshot | None) -> Usage | None:
        end = self.snapshot()
        if start is None or end is None or end.at <= start.at:
            return None
        cpu = {name: (end.groups[name] - start.groups.get(name, 0)) / _HZ for name in end.groups}
        cpu[CLIENT] = (end.own - start.own) / _HZ
        ours = sum(cpu.values()) * _HZ
        seconds = end.at - start.at
        foreign = max(0.0, ((end.busy - start.busy) - ours) / _HZ / seconds)
        return Usage(seconds=seconds, cpu=cpu, foreign_cores=foreign)

    def wait_for_quiet(self, threshold: float, patience: float, window: float = 1.0) -> float | None:
        """Sample `window`-second windows until others use less than `threshold` cores or `patience` runs out;
        returns the last sample (None where it cannot be measured)."""
        if not self.available:
            return None
        deadline = time.monotonic() + patience
        while True:
            start = self.snapshot()
            time.sleep(window)
            usage = self.usage(start)
            if usage is None or usage.foreign_cores < threshold or time.monotonic() >= deadline:
                return usage.foreign_cores if usage is not None else None
