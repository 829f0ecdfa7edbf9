"""A slow, hung or resetting upstream behind the gateway (issue 9): the gateway answers promptly, in the called API's
own format (Pay's `{code, description}` here), and forwards normally again as soon as the upstream recovers, with no
process restarted. Pay sits behind a `FaultProxy`; the rig gives the gateway a 3 s upstream timeout.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.reliability.rig import Platform

#: The rig's `GATEWAY_UPSTREAM_TIMEOUT`, and how much later than it an answer may still count as prompt.
UPSTREAM_TIMEOUT = 3.0
SLACK = 2.0


async def timed_search(platform: Platform) -> tuple[httpx.Response, float]:
    async with platform.pay_client(timeout=30) as pay:
        started = time.monotonic()
        answer = await pay.get("/v1/payments")
        return answer, time.monotonic() - started


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        # Pay's reference answer for a gateway timeout (GOV.UK Pay's own edge answers so).
        ("slow", 504, {"code": 504, "message": "HTTP 504 Gateway Timeout"}),
        ("blackhole", 504, {"code": 504, "message": "HTTP 504 Gateway Timeout"}),
        ("reset", 503, {"code": "P0999", "description": "Pay is unavailable, try again later"}),
        ("down", 503, {"code": "P0999", "description": "Pay is unavailable, try again later"}),
    ],
)
async def test_gateway_answers_promptly_and_recovers(
    platform: Platform, mode: str, status: int, body: dict[str, object]
) -> None:
    assert platform.pay_proxy is not None
    answer, _ = await timed_search(platform)
    assert answer.status_code == 200, answer.text
    platform.pay_proxy.set(mode, delay=UPSTREAM_TIMEOUT * 3)  # type: ignore[arg-type]
    try:
        for _ in range(3):
            answer, took = await timed_search(platform)
            assert answer.status_code == status, answer.text
            assert answer.json() == body
            assert answer.headers["x-request-id"]
            assert took < UPSTREAM_TIMEOUT + SLACK, f"{mode}: answered after {took:.1f}s"
    finally:
        platform.pay_proxy.set("pass")
    answer, took = await timed_search(platform)
    assert answer.status_code == 200, answer.text
    assert took < SLACK, took
    platform.check_alive()
