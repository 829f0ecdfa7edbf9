"""Console pages. Signing in (through the platform's identity service) arrives with the console proper; until an
admin can sign in, the console's start page is the platform's status, which shows nothing about any tenant."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gaap.health import readiness
from gaap.pages import PageRoute, Pages
from gateway.console.status import ComponentStatus, platform_status

router = APIRouter(prefix="/console", route_class=PageRoute, include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def status_page(request: Request) -> HTMLResponse:
    """The platform's status: whether each component is ready, and what it depends on."""
    state = request.app.state
    ready, checks = await readiness(
        "gateway", {"database": state.db.ping, "redis": state.redis.ping}, required={"database"}
    )
    components = [ComponentStatus("gateway", ready, checks)]
    components += await platform_status(state.front.state.forwarder.session, state.front.upstreams)
    pages: Pages = state.pages
    return pages.render(
        request,
        "console/status.html",
        {"components": components, "all_ready": all(c.ready for c in components)},
    )
