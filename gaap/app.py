"""The application shell every component's API process shares.

`build_app` gives a FastAPI app with: the request-id and metrics middleware (pure ASGI), the component's error
family installed for every error path (no FastAPI `{"detail": ...}` body ever escapes), `/healthz`, `/readyz`,
`/metrics`, and a lifespan that opens the database, Redis and the principal verifier once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gaap import logging as gaap_logging
from gaap.context import REQUEST_ID_HEADER, accept_request_id, request_id_var
from gaap.db.deps import mark_failed
from gaap.db.engine import Database
from gaap.db.outage import STORAGE_FULL_MESSAGE, database_unavailable, storage_full
from gaap.errors import FAMILIES, ApiError, ErrorFamily, Fault
from gaap.health import Check, healthz, readiness
from gaap.metrics import MetricsMiddleware, metrics_endpoint
from gaap.principal import PrincipalVerifier, service_keyring
from gaap.redis import REDIS_UNREACHABLE, create_redis
from gaap.settings import ComponentSettings

log = structlog.get_logger("gaap.app")


class FaultError(ApiError):
    """Raised to answer one of the `Fault` situations in the app's own family."""

    def __init__(self, fault: Fault, detail: str | None = None) -> None:
        super().__init__(detail or fault.value)
        self.fault = fault
        self.detail = detail


class RequestContextMiddleware:
    """Takes or makes the request id, puts it in the log context, and echoes it as `X-Request-ID`.

    It also answers an unhandled exception (in the app's family, with the request id in body, header and log
    line), because Starlette's own last-resort handler sits outside this middleware, after the context is gone.
    """

    def __init__(self, app: ASGIApp, family: ErrorFamily | None = None) -> None:
        self.app = app
        self.family = family or FAMILIES["platform"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = accept_request_id(incoming)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        raw_rid = rid.encode()
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", raw_rid))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log.exception("unhandled error", path=scope.get("path"), error=type(exc).__name__)
            if started:
                raise
            await self.family.fault(Fault.internal, rid)(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id") or request.headers.get(REQUEST_ID_HEADER, ""))


def validation_response(family: ErrorFamily, exc: RequestValidationError, request_id: str) -> Response:
    """FastAPI's validation failure, answered as the family's bad-request (or bad-JSON) fault, never a 422."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return family.fault(Fault.bad_json, request_id)
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
    return family.fault(Fault.bad_request, request_id, detail)


def family_route(name: str) -> type[APIRoute]:
    """A route class answering errors in another family than the app's: e.g. a Notify-format app's internal API,
    which uses the platform format like everything new."""
    family = FAMILIES[name]

    class FamilyRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                # The error is answered here, inside the dependencies' scope: `mark_failed` makes the request's
                # write session roll back rather than commit what was written before the error.
                try:
                    return await original(request)
                except FaultError as exc:
                    mark_failed(request)
                    return family.fault(exc.fault, request_id_of(request), exc.detail)
                except ApiError as exc:
                    mark_failed(request)
                    return family.render(exc, request_id_of(request))
                except RequestValidationError as exc:
                    mark_failed(request)
                    return validation_response(family, exc, request_id_of(request))

            return handler

    FamilyRoute.__name__ = f"{name.capitalize()}Route"
    return FamilyRoute


def _is_fastapi_422(response: Any) -> bool:
    """Whether an operation's 422 is the one FastAPI adds on its own (its `HTTPValidationError` body)."""
    if not isinstance(response, dict):
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def install_error_handlers(app: FastAPI, family: ErrorFamily) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if isinstance(exc, FaultError):
            return family.fault(exc.fault, request_id_of(request), exc.detail)
        return family.render(exc, request_id_of(request))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        fault = {404: Fault.not_found, 405: Fault.method_not_allowed, 413: Fault.body_too_large}.get(
            exc.status_code, Fault.bad_request
        )
        response = family.fault(fault, request_id_of(request))
        if exc.status_code == 405 and exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_response(family, exc, request_id_of(request))

    async def on_database_error(request: Request, exc: Exception) -> Response:
        """The database unreachable or its disk full: a 503 in the family's format (the request committed nothing);
        anything else stays the bug it is."""
        full = storage_full(exc)
        if not full and not database_unavailable(exc):
            raise exc
        what = "database full" if full else "database unavailable"
        log.warning(what, path=request.url.path, error=type(exc).__name__)
        mark_failed(request)
        return family.fault(Fault.unavailable, request_id_of(request), STORAGE_FULL_MESSAGE if full else None)

    async def on_redis_error(request: Request, exc: Exception) -> Response:
        """Redis unreachable on a path that needs it: a 503 in the family's format, as for the database."""
        log.warning("redis unavailable", path=request.url.path, error=type(exc).__name__)
        mark_failed(request)
        return family.fault(Fault.unavailable, request_id_of(request))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    for unreachable in (DBAPIError, PoolTimeout, ConnectionError, TimeoutError):
        app.add_exception_handler(unreachable, on_database_error)
    for redis_error in REDIS_UNREACHABLE:
        app.add_exception_handler(redis_error, on_redis_error)


@dataclass
class Component:
    """What `build_app` needs to know about a component."""

    name: str
    settings: ComponentSettings
    #: The API family by name (`gaap.errors.FAMILIES`), or a component's own subclass of one.
    family: str | ErrorFamily = "platform"
    routers: Sequence[APIRouter] = ()
    title: str = ""
    description: str = ""
    #: Extra start-up and shut-down work, run inside the lifespan after the database and Redis are open.
    on_startup: Sequence[Callable[[FastAPI], Any]] = ()
    on_shutdown: Sequence[Callable[[FastAPI], Any]] = ()
    #: Extra readiness checks by name; the database is always checked and required.
    checks: dict[str, Check] = field(default_factory=dict)
    openapi_url: str | None = "/openapi.json"


def build_app(component: Component) -> FastAPI:
    settings = component.settings
    settings.refuse_default_secrets()
    family = component.family if isinstance(component.family, ErrorFamily) else FAMILIES[component.family]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
        app.state.redis = create_redis(settings.redis_url)
        for hook in component.on_startup:
            result = hook(app)
            if hasattr(result, "__await__"):
                await result
        try:
            yield
        finally:
            for hook in component.on_shutdown:
                result = hook(app)
                if hasattr(result, "__await__"):
                    await result
            await app.state.redis.aclose()
            await app.state.db.dispose()

    app = FastAPI(
        title=component.title or f"GaaP {component.name}",
        description=component.description,
        lifespan=lifespan,
        openapi_url=component.openapi_url,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.component = component.name
    app.state.family = family
    app.state.principal_verifier = PrincipalVerifier(
        component.name, service_keyring(settings.principal_keys.get_secret_value(), component.name)
    )
    install_error_handlers(app, family)

    async def readyz(request: Request) -> Response:
        checks: dict[str, Check] = {
            "database": request.app.state.db.ping,
            "redis": request.app.state.redis.ping,
            **component.checks,
        }
        ready, report = await readiness(component.name, checks, required={"database"})
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    def openapi() -> dict[str, Any]:
        """FastAPI lists a 422 for every route with parameters; no client ever gets one (validation failures are
        answered by the family's own 400), so the document must not promise it. A 422 a route declares itself (Pay's
        `P0102`, say) is a real answer and stays."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and _is_fastapi_422(operation.get("responses", {}).get("422")):
                        del operation["responses"]["422"]
            components = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_route("/healthz", healthz, include_in_schema=False)
    app.add_route("/readyz", readyz, include_in_schema=False)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    for router in component.routers:
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, component=component.name)
    app.add_middleware(RequestContextMiddleware, family=family)
    return app


def configure_process_logging(settings: ComponentSettings, component: str) -> None:
    gaap_logging.configure(component, level=settings.platform.log_level, json=settings.platform.log_json)
