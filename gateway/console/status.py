"""The platform's health as the console shows it: each component's own `/readyz`, asked from the gateway."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

CHECK_TIMEOUT = aiohttp.ClientTimeout(total=2.0)


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    ready: bool
    checks: dict[str, str]


async def component_status(session: aiohttp.ClientSession, name: str, base_url: str) -> ComponentStatus:
    try:
        async with session.get(f"{base_url}/readyz", timeout=CHECK_TIMEOUT) as response:
            body = await response.json(content_type=None)
            checks = body.get("checks", {}) if isinstance(body, dict) else {}
            return ComponentStatus(name, response.status == 200, {str(k): str(v) for k, v in checks.items()})
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return ComponentStatus(name, False, {"process": f"unreachable ({type(exc).__name__})"})


async def platform_status(session: aiohttp.ClientSession, upstreams: dict[str, str]) -> list[ComponentStatus]:
    return list(await asyncio.gather(*(component_status(session, n, u) for n, u in upstreams.items())))
