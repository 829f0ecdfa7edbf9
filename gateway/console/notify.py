"""A service's Notify templates in the console: list, create, edit, and preview with sample personalisation.

Templates live in notify; the console reads and changes them through notify's own API, as the service
(`upstream.notify_api`). Each change is also written to the gateway's audit log with the admin as the actor, since
notify only knows that the service changed it. Changing a template needs the `manage_templates` or `admin` role;
seeing one (to send from it, `messages.py`) also `send_messages`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.texts import TEMPLATE_FORM_ERRORS, TEMPLATE_TYPES
from gateway.console.upstream import Answer, ServiceApi, notify_api

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/templates", route_class=ConsoleRoute, include_in_schema=False)
MANAGE = "manage_templates"
SEND = "send_messages"
#: Sample personalisation arrives as query parameters named `p.<placeholder>`.
SAMPLE_PREFIX = "p."


async def allowed(session: AsyncSession, admin: Admin, service_id: uuid.UUID, *roles: str) -> ServiceAccess:
    """The admin's access to the service, if they hold one of `roles` there (else the 403 page)."""
    access = await service_access(session, admin, service_id)
    access.require(*roles)
    return access


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "services", **context}, status_code)


def _base(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/templates"


async def fetch_template(api: ServiceApi, template_id: uuid.UUID) -> dict[str, Any]:
    answer = await api.call("GET", f"/v2/template/{template_id}")
    if not answer.ok:
        raise PageError(status_code=404)
    template: dict[str, Any] = answer.body
    return template


@router.get("", response_class=HTMLResponse)
async def templates_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The service's templates, by name."""
    access = await allowed(session, admin, service_id, MANAGE, SEND)
    answer = await notify_api(request, access).call("GET", "/v2/templates")
    rows = [t for t in answer.body.get("templates", []) if t.get("type") in TEMPLATE_TYPES] if answer.ok else []
    context = {
        "admin": admin,
        "access": access,
        "rows": rows,
        "types": TEMPLATE_TYPES,
        "may_manage": access.may(MANAGE),
    }
    return render(request, "console/templates.html", context)


def _errors(template_type: str, name: str, subject: str, body: str) -> dict[str, str]:
    """What the form must have before notify is asked (notify checks the same, in its API's words)."""
    errors = {}
    if template_type not in TEMPLATE_TYPES:
        errors["type"] = TEMPLATE_FORM_ERRORS["type"]
    if not name.strip() or len(name) > 255:
        errors["name"] = TEMPLATE_FORM_ERRORS["name"]
    if template_type == "email" and not subject.strip():
        errors["subject"] = TEMPLATE_FORM_ERRORS["subject"]
    if not body.strip():
        errors["body"] = TEMPLATE_FORM_ERRORS["body"]
    return errors


def _form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    template: dict[str, Any] | None = None,
    refused: Answer | None = None,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "types": TEMPLATE_TYPES,
        "values": values,
        "errors": errors or {},
        "template": template,
        "refused": refused.messages() if refused else [],
        "has_errors": bool(errors or refused),
    }
    return render(request, "console/template_form.html", context, 400 if errors or refused else 200)


async def _audit(session: AsyncSession, admin: Admin, access: ServiceAccess, action: str, template: Any) -> None:
    await audit.record(
        session,
        actor=admin.actor,
        action=action,
        target_type="template",
        target_id=str(template["id"]),
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"name": template["name"], "type": template["type"], "version": template["version"]},
    )


@router.get("/create", response_class=HTMLResponse)
async def create_template_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The form for a new template: its type, name, subject (email) and message."""
    access = await allowed(session, admin, service_id, MANAGE)
    return _form(request, admin, access, {"type": "email"})


@router.post("/create")
async def create_template(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    type: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Create the template in notify, then show it."""
    access = await allowed(session, admin, service_id, MANAGE)
    values = {"type": type, "name": name, "subject": subject, "body": body}
    errors = _errors(type, name, subject, body)
    if errors:
        return _form(request, admin, access, values, errors)
    payload = {"type": type, "name": name, "body": body, **({"subject": subject} if type == "email" else {})}
    answer = await notify_api(request, access).call("POST", "/v2/manage-template", json=payload)
    if not answer.ok:
        return _form(request, admin, access, values, refused=answer)
    await _audit(session, admin, access, "template.create", answer.body)
    return RedirectResponse(f"{_base(service_id)}/{answer.body['id']}?saved=1", status_code=303)


@router.get("/{template_id}", response_class=HTMLResponse)
async def template_page(
    request: Request, service_id: uuid.UUID, template_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The template, and its preview filled with the sample personalisation given (a GET form: nothing changes)."""
    access = await allowed(session, admin, service_id, MANAGE, SEND)
    api = notify_api(request, access)
    template = await fetch_template(api, template_id)
    placeholders = list(template.get("personalisation") or {})
    given = request.query_params
    samples = {name: given.get(SAMPLE_PREFIX + name, "") for name in placeholders}
    preview: dict[str, Any] | None = None
    problem: list[str] = []
    if all(samples.values()):
        answer = await api.call("POST", f"/v2/template/{template_id}/preview", json={"personalisation": samples})
        preview, problem = (answer.body, []) if answer.ok else (None, answer.messages())
    context = {
        "admin": admin,
        "access": access,
        "template": template,
        "types": TEMPLATE_TYPES,
        "samples": samples,
        "sample_prefix": SAMPLE_PREFIX,
        "preview": preview,
        "problem": problem,
        "saved": request.query_params.get("saved") == "1",
        "may_manage": access.may(MANAGE),
        "may_send": access.may(SEND),
    }
    return render(request, "console/template.html", context)


@router.get("/{template_id}/edit", response_class=HTMLResponse)
async def edit_template_page(
    request: Request, service_id: uuid.UUID, template_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The template's form, filled in (its type does not change)."""
    access = await allowed(session, admin, service_id, MANAGE)
    template = await fetch_template(notify_api(request, access), template_id)
    values = {key: template.get(key) or "" for key in ("type", "name", "subject", "body")}
    return _form(request, admin, access, values, template=template)


@router.post("/{template_id}/edit")
async def edit_template(
    request: Request,
    service_id: uuid.UUID,
    template_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    name: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Change the template; notify makes a new version when the content changes."""
    access = await allowed(session, admin, service_id, MANAGE)
    api = notify_api(request, access)
    template = await fetch_template(api, template_id)
    kind = str(template["type"])
    values = {"type": kind, "name": name, "subject": subject, "body": body}
    errors = _errors(kind, name, subject, body)
    if errors:
        return _form(request, admin, access, values, errors, template)
    payload = {"name": name, "body": body, **({"subject": subject} if kind == "email" else {})}
    answer = await api.call("PATCH", f"/v2/manage-template/{template_id}", json=payload)
    if not answer.ok:
        return _form(request, admin, access, values, template=template, refused=answer)
    await _audit(session, admin, access, "template.update", answer.body)
    return RedirectResponse(f"{_base(service_id)}/{template_id}?saved=1", status_code=303)
