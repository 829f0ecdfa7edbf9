"""What every identity page does: render in the visitor's language, keep the browser session alive (its cookie on
every answer), and show form errors the GOV.UK way."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from services.identity.deps import Provider
from services.identity.sessions.store import BrowserSession

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
#: What the OpenAPI document says a page answers besides its own HTML (page routers also set
#: `default_response_class=HTMLResponse`, so their 200 is documented as HTML): redirects, and GOV.UK error pages.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "Back to the relying party, or to where the journey starts"},
    303: {"description": "On to the next page"},
    400: {"description": "Error page: the request is not valid", "content": _HTML},
    403: {"description": "Error page: the CSRF check failed", "content": _HTML},
}


def field_error(name: str, message: str) -> dict[str, str]:
    return {"field": name, "message": message}


async def page(
    op: Provider,
    request: Request,
    session: BrowserSession,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    context = dict(context or {})
    errors = context.setdefault("errors", [])
    context["error_for"] = {e["field"]: e["message"] for e in errors}
    response = request.app.state.pages.render(request, template, {**context, "has_errors": bool(errors)}, status)
    await op.sessions.save(session, response)
    return response


async def go(op: Provider, session: BrowserSession, url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    await op.sessions.save(session, response)
    return response


def valid_email(value: str) -> str | None:
    email = value.strip().lower()
    return email if len(email) <= 254 and EMAIL.match(email) else None
