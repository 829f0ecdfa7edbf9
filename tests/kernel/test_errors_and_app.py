"""The application shell (`gaap.app.build_app`) and the error families (ARCHITECTURE rules 5 and 9).

Every error path answers in the app's own family, with the reference texts exactly; no FastAPI `{"detail": ...}`
body and no automatic 422 ever reaches a client. Every response carries `X-Request-ID`.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict
from structlog.testing import capture_logs

from gaap.app import Component, build_app
from gaap.errors import ApiError, BadRequest, Conflict, TooManyRequests
from gaap.settings import ComponentSettings

FAMILIES = ["platform", "notify", "pay", "oauth"]
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
NOTIFY_404 = {
    "result": "error",
    "message": "The requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again.",
}


class KernelAppSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="KAPP_", extra="ignore")
    component: ClassVar[str] = "kapp"


class Item(BaseModel):
    name: str
    quantity: int


class ItemGone(ApiError):
    """A component's own error class: its status and code travel with it."""

    status_code = 410
    code = "ItemGone"
    message = "The item has gone"


router = APIRouter()


@router.post("/v2/items", status_code=201)
async def create_item(item: Item) -> dict[str, Any]:
    return {"name": item.name, "quantity": item.quantity}


@router.get("/v2/items/{item_id}")
async def get_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("an unexpected bug")


@router.get("/conflict")
async def conflict() -> None:
    raise Conflict("That item already exists", code="ItemExists")


@router.get("/gone")
async def gone() -> None:
    raise ItemGone()


@router.get("/slow-down")
async def slow_down() -> None:
    raise TooManyRequests(headers={"Retry-After": "7"})


@router.get("/bad-field")
async def bad_field() -> None:
    raise BadRequest("Must be a positive integer", code="P0102", field="amount")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(name="bodies")
def bodies_fixture() -> Iterator[list[str]]:
    """Every response body a test received; none may hold FastAPI's `{"detail": ...}` (a JSON key: `/metrics` may
    well name a route with "detail" in it, such as pay's `/card_details/...`)."""
    seen: list[str] = []
    yield seen
    for body in seen:
        assert '"detail"' not in body, body


@pytest.fixture(name="app_client")
def app_client_fixture(tmp_path: Path, redis_url: str, bodies: list[str]) -> ClientFactory:
    @asynccontextmanager
    async def factory(
        family: str = "platform",
        *,
        component: str = "kapp",
        database_url: str | None = None,
        redis: str | None = None,
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = KernelAppSettings(
            database_url=database_url or f"sqlite+aiosqlite:///{tmp_path}/{component}.db",
            redis_url=redis or redis_url,
        )
        app = build_app(Component(name=component, settings=settings, family=family, routers=[router]))

        async def record(response: httpx.Response) -> None:
            await response.aread()
            bodies.append(response.text)

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://kapp", event_hooks={"response": [record]})
        async with app.router.lifespan_context(app), client:
            yield client

    return factory


def api_error_body(family: str, status: int, code: str, message: str, request_id: str, **extra: Any) -> Any:
    """What each family's reference answers for an `ApiError`."""
    if family == "platform":
        return {"error": code, "message": message, "request_id": request_id, **extra}
    if family == "notify":
        return {"status_code": status, "errors": [{"error": code, "message": message, **extra}]}
    if family == "pay":
        return {"code": code, "description": message, **extra}
    return {"error": code, "error_description": message}


# Framework errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
async def test_unknown_path_answers_the_family_404(app_client: ClientFactory, family: str) -> None:
    async with app_client(family) as client:
        response = await client.get("/v2/nowhere/at/all")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    rid = response.headers["x-request-id"]
    expected = {
        "platform": {"error": "NotFound", "message": "Not found", "request_id": rid},
        "notify": NOTIFY_404,
        "pay": {"code": 404, "message": "HTTP 404 Not Found"},
        "oauth": {"error": "not_found", "error_description": "Not found"},
    }[family]
    assert response.json() == expected


@pytest.mark.parametrize("family", FAMILIES)
async def test_wrong_method_answers_the_family_405(app_client: ClientFactory, family: str) -> None:
    async with app_client(family) as client:
        response = await client.delete("/v2/items")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    rid = response.headers["x-request-id"]
    expected = {
        "platform": {"error": "MethodNotAllowed", "message": "Method not allowed", "request_id": rid},
        "notify": {"result": "error", "message": "The method is not allowed for the requested URL."},
        "pay": {"code": 405, "message": "HTTP 405 Method Not Allowed"},
        "oauth": {"error": "invalid_request", "error_description": "Method not allowed"},
    }[family]
    assert response.json() == expected


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "payload", [b"{not json", b'{"name": "a", "quantity": 1', b""], ids=["garbage", "cut", "empty"]
)
async def test_malformed_json_is_a_400_in_the_family_format(
    app_client: ClientFactory, family: str, payload: bytes
) -> None:
    async with app_client(family) as client:
        response = await client.post("/v2/items", content=payload, headers={"content-type": "application/json"})

    assert response.status_code == 400
    body = response.json()
    if family == "notify":
        expected_message = "Invalid JSON supplied in POST data" if payload else None
        assert body["status_code"] == 400
        assert body["errors"][0]["error"] == "BadRequestError"
        if expected_message:
            assert body["errors"] == [{"error": "BadRequestError", "message": expected_message}]
    elif family == "pay":
        assert body == {"code": 400, "message": "HTTP 400 Bad Request"}
    elif family == "platform":
        assert body["error"] == "BadRequest"
        assert body["request_id"] == response.headers["x-request-id"]
    else:
        assert body["error"] == "invalid_request"
        assert set(body) == {"error", "error_description"}


@pytest.mark.parametrize("family", FAMILIES)
async def test_invalid_fields_are_a_400_never_a_422(app_client: ClientFactory, family: str) -> None:
    async with app_client(family) as client:
        missing = await client.post("/v2/items", json={"name": "widget"})
        wrong_type = await client.post("/v2/items", json={"name": "widget", "quantity": "lots"})
        bad_path = await client.get("/v2/items/not-a-number")
        fine = await client.post("/v2/items", json={"name": "widget", "quantity": 3})

    assert fine.status_code == 201
    assert fine.json() == {"name": "widget", "quantity": 3}
    for response in (missing, wrong_type, bad_path):
        assert response.status_code == 400
        body = response.json()
        if family == "notify":
            assert body["status_code"] == 400
            assert body["errors"][0]["error"] == "BadRequestError"
        elif family == "platform":
            assert body["error"] == "BadRequest"
        elif family == "pay":
            assert body["code"] == 400
        else:
            assert body["error"] == "invalid_request"
    if family in ("platform", "notify"):  # the message says which field was wrong
        message = missing.json()["message"] if family == "platform" else missing.json()["errors"][0]["message"]
        assert message.startswith("quantity:")


@pytest.mark.parametrize("family", FAMILIES)
async def test_unexpected_exception_is_a_500_in_the_family_format(app_client: ClientFactory, family: str) -> None:
    rid = "trace-" + uuid.uuid4().hex
    with capture_logs() as logs:
        async with app_client(family) as client:
            response = await client.get("/boom", headers={"x-request-id": rid})

    assert response.status_code == 500
    assert "an unexpected bug" not in response.text  # no internals leak
    assert [(e["event"], e["log_level"], e["error"], e["path"]) for e in logs if e["event"] == "unhandled error"] == [
        ("unhandled error", "error", "RuntimeError", "/boom")
    ]
    expected = {
        "platform": {"error": "InternalError", "message": "Internal server error", "request_id": rid},
        "notify": {
            "status_code": 500,
            "errors": [{"error": "InternalServerError", "message": "Internal server error"}],
        },
        "pay": {"code": 500, "message": f"There was an error processing your request. It has been logged (ID {rid})."},
        "oauth": {"error": "server_error", "error_description": "Internal server error"},
    }[family]
    assert response.json() == expected


async def test_a_500_still_carries_the_request_id_header(app_client: ClientFactory) -> None:
    rid = "trace-" + uuid.uuid4().hex
    with capture_logs():
        async with app_client("platform") as client:
            response = await client.get("/boom", headers={"x-request-id": rid})

    assert response.status_code == 500
    assert response.headers.get("x-request-id") == rid


@pytest.mark.parametrize("family", FAMILIES)
async def test_api_errors_keep_their_status_and_code(app_client: ClientFactory, family: str) -> None:
    async with app_client(family) as client:
        conflict = await client.get("/conflict")
        gone = await client.get("/gone")
        slow = await client.get("/slow-down")
        field = await client.get("/bad-field")

    assert conflict.status_code == 409
    assert conflict.json() == api_error_body(
        family, 409, "ItemExists", "That item already exists", conflict.headers["x-request-id"]
    )
    assert gone.status_code == 410
    assert gone.json() == api_error_body(family, 410, "ItemGone", "The item has gone", gone.headers["x-request-id"])
    assert slow.status_code == 429
    assert slow.headers["retry-after"] == "7"
    assert slow.json() == api_error_body(
        family, 429, "TooManyRequests", "Too many requests", slow.headers["x-request-id"]
    )
    assert field.status_code == 400
    assert field.json() == api_error_body(
        family, 400, "P0102", "Must be a positive integer", field.headers["x-request-id"], field="amount"
    )


# Request id ---------------------------------------------------------------------------------------------------


async def test_request_id_is_generated_when_absent_and_unique(app_client: ClientFactory) -> None:
    async with app_client("platform") as client:
        first = await client.get("/v2/nowhere")
        second = await client.get("/v2/items/1")

    for response in (first, second):
        assert HEX_ID.match(response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.json()["request_id"] == first.headers["x-request-id"]


@pytest.mark.parametrize("incoming", ["0f8fad5b-d9cb-469f-a165-70867728950e", "gw:req.2026_11-21", "A" * 128])
async def test_well_formed_request_id_is_kept(app_client: ClientFactory, incoming: str) -> None:
    async with app_client("platform") as client:
        ok = await client.get("/v2/items/7", headers={"x-request-id": incoming})
        error = await client.get("/v2/nowhere", headers={"x-request-id": incoming})

    assert ok.headers["x-request-id"] == incoming
    assert error.headers["x-request-id"] == incoming
    assert error.json()["request_id"] == incoming
    assert len(ok.headers.get_list("x-request-id")) == 1


@pytest.mark.parametrize(
    "incoming",
    ["short", "has spaces in it", "A" * 129, "semi;colon;1234", "<script>alert(1)</script>", "émoji-ünïcode"],
)
async def test_malformed_request_id_is_replaced(app_client: ClientFactory, incoming: str) -> None:
    async with app_client("platform") as client:
        response = await client.get("/v2/nowhere", headers={"x-request-id": incoming.encode("utf-8")})

    rid = response.headers["x-request-id"]
    assert rid != incoming
    assert HEX_ID.match(rid)
    assert response.json()["request_id"] == rid


# Health, readiness and metrics -------------------------------------------------------------------------------


async def test_healthz_is_200_even_when_nothing_is_reachable(app_client: ClientFactory) -> None:
    port = closed_port()
    async with app_client(
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere",
        redis=f"redis://127.0.0.1:{port}/0",
    ) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert HEX_ID.match(response.headers["x-request-id"])


async def test_readyz_reports_database_and_redis(app_client: ClientFactory) -> None:
    async with app_client() as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_readyz_is_503_when_the_database_is_unreachable(app_client: ClientFactory) -> None:
    async with app_client(database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nowhere") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unavailable")
    assert body["checks"]["redis"] == "ok"


async def test_readyz_stays_200_when_only_redis_is_down(app_client: ClientFactory) -> None:
    component = f"kapp_{uuid.uuid4().hex[:8]}"
    async with app_client(component=component, redis=f"redis://127.0.0.1:{closed_port()}/0") as client:
        response = await client.get("/readyz")
        metrics = await client.get("/metrics")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")
    up = metric_samples(metrics.text, "gaap_dependency_up", component)
    assert up == {(("dependency", "database"),): 1.0, (("dependency", "redis"),): 0.0}


def metric_samples(exposition: str, name: str, component: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One component's samples of one metric, keyed by their other labels."""
    samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("component") == component:
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "component"))
                samples[labels] = sample.value
    return samples


async def test_metrics_count_requests_by_route_template(app_client: ClientFactory) -> None:
    component = f"kapp_{uuid.uuid4().hex[:8]}"
    async with app_client(component=component) as client:
        for item_id in (1, 2, 3):
            assert (await client.get(f"/v2/items/{item_id}")).status_code == 200
        await client.get("/v2/items/not-a-number")
        await client.get("/v2/nowhere/123")
        await client.post("/v2/items", json={"name": "a", "quantity": 1})
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    counts = metric_samples(response.text, "gaap_http_requests_total", component)
    assert counts == {
        (("method", "GET"), ("route", "/v2/items/{item_id}"), ("status", "200")): 3.0,
        (("method", "GET"), ("route", "/v2/items/{item_id}"), ("status", "400")): 1.0,
        (("method", "GET"), ("route", "unmatched"), ("status", "404")): 1.0,
        (("method", "POST"), ("route", "/v2/items"), ("status", "201")): 1.0,
    }
    assert f'component="{component}",method="GET",route="/v2/items/1"' not in response.text
    assert "gaap_http_request_duration_seconds_bucket" in response.text
