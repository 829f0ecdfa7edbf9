"""Running wrk and reading its answer.

Every run goes through `request.lua`, whose `done` hook prints one `BENCH-RESULT {json}` line with exact
microseconds (wrk's text report rounds to 10 µs and mixes units). Requests per second are computed as wrk computes
its own `Requests/sec`: completed requests over the measured duration. A run with any error (a non-2xx answer,
a timeout, a reset) is reported as such: a fast 401 must never pass for a fast insert.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gaap.embedded import die_with_parent

SCRIPT = Path(__file__).with_name("request.lua")
_RESULT = re.compile(r"^BENCH-RESULT (\{.*\})$", re.MULTILINE)
_FAILED = re.compile(r"^BENCH-FAILED (.*)$", re.MULTILINE)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


def seconds(text: str) -> float:
    """`10s`, `500ms`, `1m` or a bare number of seconds, as wrk's `-d` reads them."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (try 10s, 500ms or 1m)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


def find_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does this when run as root)")
    return found


@dataclass(frozen=True)
class WrkResult:
    command: str
    connections: int
    threads: int
    requests: int
    duration_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    mean_us: float
    errors: dict[str, int]
    output: str
    #: With `statuses=True`: the failed answers' statuses and first bytes, as request.lua saw them.
    failures: tuple[str, ...] = ()

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1_000_000) if self.duration_us else 0.0

    @property
    def p50_ms(self) -> float:
        return self.p50_us / 1000

    @property
    def p99_ms(self) -> float:
        return self.p99_us / 1000

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def describe_errors(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.errors.items() if n) or "none"


def parse(output: str, command: str, connections: int, threads: int) -> WrkResult:
    match = _RESULT.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no result line (was request.lua loaded?):\n{output[-2000:]}")
    data = json.loads(match.group(1))
    errors = {k.removeprefix("errors_"): int(v) for k, v in data.items() if k.startswith("errors_")}
    return WrkResult(
        command=command,
        connections=connections,
        threads=threads,
        requests=int(data["requests"]),
        duration_us=int(data["duration_us"]),
        p50_us=int(data["p50_us"]),
        p90_us=int(data["p90_us"]),
        p99_us=int(data["p99_us"]),
        max_us=int(data["max_us"]),
        mean_us=float(data["mean_us"]),
        errors=errors,
        output=output,
        failures=tuple(
            dict.fromkeys(f.strip() for line in _FAILED.findall(output) for f in line.split("; ") if f.strip())
        ),
    )


def run(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    authorization: str | None = None,
    connections: int,
    threads: int,
    duration: float,
    timeout: float = 5.0,
    statuses: bool = False,
    script: Path = SCRIPT,
    script_env: dict[str, str] | None = None,
) -> WrkResult:
    """One wrk run; the request is handed to request.lua through the environment (never on the command line,
    where a bearer token would show in `ps`). `statuses` records what failed answers said, at a cost to wrk's
    speed: for warm-ups only. `script`: another script, which must print the same `BENCH-RESULT` line;
    `script_env`: what it reads from the environment."""
    threads = min(threads, connections)
    argv = [
        find_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={timeout:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    env = dict(os.environ)
    env.update(
        {
            "BENCH_METHOD": method,
            "BENCH_BODY": body.decode(),
            "BENCH_AUTHORIZATION": authorization or "",
            "BENCH_STATUSES": "1" if statuses else "",
            **(script_env or {}),
        }
    )
    done = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + timeout + 30,
        check=False,
        preexec_fn=die_with_parent(),  # a SIGKILLed harness leaves no wrk behind
    )
    command = " ".join(a if a != str(script) else f"bench/{script.name}" for a in argv[1:])
    command = "wrk " + command + (" (with a Notify JWT)" if authorization else "")
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed with status {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout, command, connections, threads)
