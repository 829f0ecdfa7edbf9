"""`/healthz` (alive: checks nothing) and `/readyz` (dependencies), as ARCHITECTURE rule 9 says.

An API role is ready when its database answers: it keeps accepting durable work while Redis is down, so Redis is
reported in the body and as a metric but does not fail readiness. A worker role needs both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gaap.metrics import DEPENDENCY_UP

CHECK_TIMEOUT = 2.0

Check = Callable[[], Awaitable[object]]


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def run_check(check: Check) -> str | None:
    """None when the check passes, else a short reason."""
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return type(exc).__name__
    return None


async def readiness(component: str, checks: dict[str, Check], required: set[str]) -> tuple[bool, dict[str, str]]:
    names = list(checks)
    results = await asyncio.gather(*(run_check(checks[n]) for n in names))
    report: dict[str, str] = {}
    ready = True
    for name, failure in zip(names, results, strict=True):
        DEPENDENCY_UP.labels(component, name).set(0 if failure else 1)
        report[name] = "ok" if failure is None else f"unavailable ({failure})"
        if failure is not None and name in required:
            ready = False
    return ready, report
