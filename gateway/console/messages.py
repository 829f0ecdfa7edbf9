"""Sending a one-off message from a template, and the service's notifications log, in the console.

Both go through notify's v2 API as the service (`upstream.notify_api`). A one-off message is sent as with a live
key, so it is a real message like GOV.UK Notify's own "send yourself a test"; it is audited in the gateway with the
admin as the actor (the template and the notification, never the recipient). Notify keeps each key type's
messages apart, so the log shows one key type at a time (live by default), filtered by status and kind.
Sending needs `send_messages` (or `admin`); the log also `manage_templates`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.pages import CsrfProtected
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin
from gateway.console.notify import MANAGE, SAMPLE_PREFIX, SEND, allowed, fetch_template, render
from gateway.console.texts import NOTIFICATION_STATUSES, NOTIFY_KEY_TYPES, RECIPIENT_MISSING, TEMPLATE_TYPES, when_iso
from gateway.console.upstream import notify_api

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}", route_class=ConsoleRoute, include_in_schema=False)
#: The field of notify's send request that holds the recipient, by template type.
RECIPIENT_FIELD = {"email": "email_address", "sms": "phone_number"}


@router.get("/templates/{template_id}/send", response_class=HTMLResponse)
async def send_page(
    request: Request, service_id: uuid.UUID, template_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The recipient, and a value for each of the template's placeholders."""
    access = await allowed(session, admin, service_id, SEND)
    template = await fetch_template(notify_api(request, access), template_id)
    return _send_form(request, admin, access, template, {}, {})


def _send_form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    template: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
    refused: list[str] | None = None,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "template": template,
        "placeholders": list(template.get("personalisation") or {}),
        "sample_prefix": SAMPLE_PREFIX,
        "values": values,
        "errors": errors,
        "refused": refused or [],
        "has_errors": bool(errors or refused),
    }
    return render(request, "console/send.html", context, 400 if errors or refused else 200)


@router.post("/templates/{template_id}/send")
async def send(
    request: Request,
    service_id: uuid.UUID,
    template_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    recipient: Annotated[str, Form()] = "",
) -> Response:
    """Send the message through notify, then show it in the log."""
    access = await allowed(session, admin, service_id, SEND)
    api = notify_api(request, access)
    template = await fetch_template(api, template_id)
    kind = str(template["type"])
    form = await request.form()
    placeholders = list(template.get("personalisation") or {})
    values = {name: str(form.get(SAMPLE_PREFIX + name, "")) for name in placeholders}
    if kind not in RECIPIENT_FIELD or not recipient.strip():
        missing = {"recipient": RECIPIENT_MISSING.get(kind, RECIPIENT_MISSING["email"])}
        return _send_form(request, admin, access, template, {"recipient": recipient, **values}, missing)
    payload = {"template_id": str(template_id), RECIPIENT_FIELD[kind]: recipient.strip(), "personalisation": values}
    answer = await api.call("POST", f"/v2/notifications/{kind}", json=payload)
    if not answer.ok:
        values = {"recipient": recipient, **values}
        return _send_form(request, admin, access, template, values, {}, answer.messages())
    await audit.record(
        session,
        actor=admin.actor,
        action="notification.send",
        target_type="notification",
        target_id=str(answer.body["id"]),
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"template_id": str(template_id), "type": kind},
    )
    return RedirectResponse(f"/console/services/{service_id}/notifications?sent=1", status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    status: Annotated[str, Query()] = "",
    type: Annotated[str, Query()] = "",
    key_type: Annotated[str, Query()] = "normal",
) -> HTMLResponse:
    """The newest notifications (notify's first page) sent with one key type, filtered by status and kind."""
    access = await allowed(session, admin, service_id, SEND, MANAGE)
    filters = {
        "status": status if status in NOTIFICATION_STATUSES else "",
        "type": type if type in TEMPLATE_TYPES else "",
        "key_type": key_type if key_type in NOTIFY_KEY_TYPES else "normal",
    }
    params = {"status": filters["status"], "template_type": filters["type"]}
    answer = await notify_api(request, access, filters["key_type"]).call(
        "GET", "/v2/notifications", params={k: v for k, v in params.items() if v}
    )
    rows = [
        {
            "recipient": n.get("email_address") or n.get("phone_number") or "",
            "type": n.get("type"),
            "status": n.get("status"),
            "subject": n.get("subject") or n.get("body", "")[:60],
            "created": when_iso(n.get("created_at")),
        }
        for n in (answer.body.get("notifications", []) if answer.ok else [])
    ]
    context = {
        "admin": admin,
        "access": access,
        "rows": rows,
        "filters": filters,
        "statuses": NOTIFICATION_STATUSES,
        "types": TEMPLATE_TYPES,
        "key_types": NOTIFY_KEY_TYPES,
        "sent": request.query_params.get("sent") == "1",
    }
    return render(request, "console/notifications.html", context)
