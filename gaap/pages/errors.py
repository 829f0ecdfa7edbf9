"""HTML error pages: the error a page route raises, the helper that renders one, and a route class for page
routers.

An API answers errors in its family's JSON (ARCHITECTURE rule 5); a citizen's browser gets a GOV.UK error page
in the page's language, with the request id as a reference to quote. `PageError` is an `ApiError`, so an app
that has not installed `Pages` still answers with the right status in its family's format rather than a 500.

`PageRoute` makes every error on a page router an HTML page: page errors, the component's own `ApiError`s,
framework errors (405, a missing form field) and unhandled exceptions, which are logged and answered with the
500 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import structlog
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gaap.context import REQUEST_ID_HEADER, accept_request_id, current_request_id
from gaap.db.deps import mark_failed
from gaap.db.outage import database_unavailable, storage_full
from gaap.errors import ApiError
from gaap.redis import REDIS_UNREACHABLE

if TYPE_CHECKING:
    from gaap.pages.templating import Pages

log = structlog.get_logger("gaap.pages")

#: The statuses `gaap/error.html` has its own texts for; others fall back to the 400 or 500 texts.
ERROR_STATUSES = (400, 403, 404, 429, 500, 503)
#: Seconds a browser is asked to wait when a dependency (the database, Redis) is away.
RETRY_AFTER = 30


class PageError(ApiError):
    """An error on a page route, answered with the HTML error page for its status.

    `reason` picks a more specific text within a status in `gaap/error.html` (`"csrf"` for a rejected form).
    """

    status_code = 500
    code = "PageError"
    message = "The page could not be shown"
    reason: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, headers=headers)
        if reason is not None:
            self.reason = reason


def request_id_for(request: Request) -> str:
    """The request id the kernel's middleware stamped; the contextvar and header are fallbacks.

    The scope comes first because the app's 500 handler runs outside the middleware that sets the contextvar.
    """
    stamped = request.scope.get("state", {}).get("request_id") or current_request_id()
    if stamped:
        return str(stamped)
    header = request.headers.get(REQUEST_ID_HEADER)
    return header if header and accept_request_id(header) == header else ""


def pages_of(request: Request) -> Pages:
    pages = getattr(request.app.state, "pages", None)
    if pages is None:
        raise RuntimeError("no Pages installed on this app: call pages.install(app) at start-up")
    found: Pages = pages
    return found


def render_error_page(
    request: Request,
    status_code: int,
    *,
    reason: str | None = None,
    title: str | None = None,
    message: str | None = None,
    lang: str | None = None,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The GOV.UK error page for `status_code`, using the `Pages` installed on the request's app.

    `title` and `message` replace the status's own texts; they are message ids, translated at render, so put
    them in the component's catalogue. `retry_after` (seconds) adds a `Retry-After` header to 429 and 503
    pages.
    """
    return pages_of(request).render_error(
        request,
        status_code,
        reason=reason,
        title=title,
        message=message,
        lang=lang,
        retry_after=retry_after,
        headers=headers,
    )


class PageRoute(APIRoute):
    """A route class for page routers (`APIRouter(route_class=PageRoute)`): every error becomes an HTML
    page. The error is answered inside the dependencies' scope, so `mark_failed` makes the request's write session
    roll back what was written before it (`gaap.db.deps`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                mark_failed(request)
                return _error_page(request, exc)

        return page_handler


def _error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, PageError):
        return render_error_page(request, exc.status_code, reason=exc.reason, headers=exc.headers or None)
    if isinstance(exc, ApiError):
        return render_error_page(request, exc.status_code, headers=exc.headers or None)
    if isinstance(exc, StarletteHTTPException):
        return render_error_page(request, exc.status_code, headers=dict(exc.headers or {}) or None)
    if isinstance(exc, RequestValidationError):
        return render_error_page(request, 400)
    if isinstance(exc, REDIS_UNREACHABLE) or database_unavailable(exc) or storage_full(exc):
        # A dependency away for a while (the request committed nothing): "try again later", not a bug.
        log.warning("dependency unavailable on a page", path=request.url.path, error=type(exc).__name__)
        return render_error_page(request, 503, retry_after=RETRY_AFTER)
    log.exception("unhandled error on a page", path=request.url.path, error=type(exc).__name__)
    return render_error_page(request, 500)
