"""`family_route` and `PageRoute` answer errors inside the route (another family, an HTML page); the
request's write session must still roll back what the endpoint wrote before failing (and commit when it
succeeds)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from gaap.app import Component, build_app, family_route
from gaap.db.deps import DbSession
from gaap.errors import BadRequest
from gaap.pages import Pages
from gaap.pages.errors import PageError, PageRoute
from gaap.settings import ComponentSettings


class RouteSettings(ComponentSettings):
    component: ClassVar[str] = "routetest"


router = APIRouter(route_class=family_route("platform"))


@router.post("/write/{outcome}")
async def write(outcome: str, session: DbSession) -> dict[str, str]:
    await session.execute(text("INSERT INTO written (outcome) VALUES (:outcome)"), {"outcome": outcome})
    if outcome == "fail":
        raise BadRequest("refused after writing")
    return {"outcome": outcome}


@pytest.mark.parametrize(("outcome", "status", "kept"), [("ok", 200, 1), ("fail", 400, 0)])
async def test_an_error_answered_by_the_route_rolls_its_writes_back(
    tmp_path: Path, redis_url: str, outcome: str, status: int, kept: int
) -> None:
    settings = RouteSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/route.db", redis_url=redis_url)
    app = build_app(Component(name="routetest", settings=settings, family="notify", routers=[router]))
    async with app.router.lifespan_context(app):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE written (outcome TEXT)"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://route") as client:
            answer = await client.post(f"/write/{outcome}")
        assert answer.status_code == status
        if status == 400:
            assert answer.json()["error"] == "BadRequest"  # the route's family (platform), not the app's (notify)
        async with app.state.db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM written"))).scalar() == kept


page_router = APIRouter(route_class=PageRoute)


@page_router.post("/page/{outcome}")
async def write_page(outcome: str, session: DbSession) -> dict[str, str]:
    await session.execute(text("INSERT INTO written (outcome) VALUES (:outcome)"), {"outcome": outcome})
    if outcome == "fail":
        raise PageError("refused after writing", status_code=409)
    return {"outcome": outcome}


@pytest.mark.parametrize(("outcome", "status", "kept"), [("ok", 200, 1), ("fail", 409, 0)])
async def test_an_error_page_rolls_the_pages_writes_back(
    tmp_path: Path, redis_url: str, outcome: str, status: int, kept: int
) -> None:
    settings = RouteSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/page.db", redis_url=redis_url)
    app = build_app(Component(name="routetest", settings=settings, routers=[page_router]))
    Pages([], csrf_secret="route-test-secret-0123456789abcdef", secure=False, service_name="Test").install(app)
    async with app.router.lifespan_context(app):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE written (outcome TEXT)"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://route") as client:
            answer = await client.post(f"/page/{outcome}")
        assert answer.status_code == status
        async with app.state.db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM written"))).scalar() == kept
