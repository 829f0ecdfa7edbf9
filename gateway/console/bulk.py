"""Sending a template to a list of recipients (a CSV file) in the console, and following the job's progress.

The file goes to notify's bulk endpoint (`POST /v2/notifications/bulk`) as the service (`upstream.notify_api`),
base64-encoded as its `csv` field, as with a live key like a one-off send (`messages.py`). Notify checks every row
before it stores anything: a job is all or nothing, so on a bad row nothing is sent and its 400 lists the bad rows
(`Row <n>: <message>`), which the form shows as a table. An accepted job is audited in the gateway with the admin as
the actor (the template, the job and its size, never the recipients), and its page shows notify's progress
(`GET /v2/jobs/{id}`); reloading it refreshes the counts. Both need `send_messages` (or `admin`).
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.pages import CsrfProtected, PageError
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin
from gateway.console.notify import SEND, allowed, fetch_template, render
from gateway.console.texts import NOTIFICATION_STATUSES, when_iso
from gateway.console.upstream import notify_api

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}", route_class=ConsoleRoute, include_in_schema=False)
#: Kinds of template notify sends in bulk from the console (as for one-off sends).
BULK_KINDS = ("email", "sms")
#: Notify's limit on a job's name.
MAX_NAME = 255
#: The largest file accepted: notify's 100,000 rows at ~100 bytes a row, with room to spare.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: How notify words a bad row in its error envelope (`services/notify/jobs/service.py`, `RowErrors`).
ROW_MESSAGE = re.compile(r"^Row (\d+): (.*)$", re.DOTALL)


def _upload_form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    template: dict[str, Any],
    name: str = "",
    errors: dict[str, str] | None = None,
    refused: list[str] | None = None,
) -> HTMLResponse:
    """The form; `errors` are codes per field (worded in the template), `refused` notify's own messages."""
    bad_rows: list[dict[str, str]] = []
    others: list[str] = []
    for message in refused or []:
        matched = ROW_MESSAGE.match(message)
        if matched:
            bad_rows.append({"row": matched.group(1), "message": matched.group(2)})
        else:
            others.append(message)
    errors = errors or {}
    context = {
        "admin": admin,
        "access": access,
        "template": template,
        "name": name,
        "errors": errors,
        "bad_rows": bad_rows,
        "others": others,
        "max_name": MAX_NAME,
        "max_megabytes": MAX_FILE_BYTES // (1024 * 1024),
        "has_errors": bool(errors or refused),
    }
    return render(request, "console/bulk_upload.html", context, 400 if errors or refused else 200)


async def _sendable_template(request: Request, access: ServiceAccess, template_id: uuid.UUID) -> dict[str, Any]:
    template = await fetch_template(notify_api(request, access), template_id)
    if template.get("type") not in BULK_KINDS:
        raise PageError(status_code=404)
    return template


@router.get("/templates/{template_id}/upload", response_class=HTMLResponse)
async def upload_page(
    request: Request, service_id: uuid.UUID, template_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """A CSV file of recipients (and their personalisation) and a name for the job."""
    access = await allowed(session, admin, service_id, SEND)
    template = await _sendable_template(request, access, template_id)
    return _upload_form(request, admin, access, template)


async def _read_file(upload: Any) -> tuple[bytes | None, str]:
    """The file's bytes, or None and the error code for the form."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, "missing"
    content = await upload.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        return None, "too_large"
    if not content.strip():
        return None, "empty"
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not_text"
    return content, ""


@router.post("/templates/{template_id}/upload")
async def upload(
    request: Request,
    service_id: uuid.UUID,
    template_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Send the file to notify as one job; show its bad rows, or go to the job's page."""
    access = await allowed(session, admin, service_id, SEND)
    template = await _sendable_template(request, access, template_id)
    form = await request.form()
    content, file_error = await _read_file(form.get("file"))
    errors = {}
    if not name.strip():
        errors["name"] = "missing"
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = "too_long"
    if file_error:
        errors["file"] = file_error
    if errors or content is None:
        return _upload_form(request, admin, access, template, name, errors)
    payload = {
        "name": name.strip(),
        "template_id": str(template_id),
        "csv": base64.b64encode(content).decode("ascii"),
    }
    answer = await notify_api(request, access).call("POST", "/v2/notifications/bulk", json=payload)
    if not answer.ok:
        refused = answer.messages()
        problems = {} if refused else {"file": "refused"}
        return _upload_form(request, admin, access, template, name, problems, refused)
    job = answer.body["data"]
    await audit.record(
        session,
        actor=admin.actor,
        action="job.send",
        target_type="job",
        target_id=str(job["id"]),
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"template_id": str(template_id), "type": str(template["type"]), "rows": job["notification_count"]},
    )
    return RedirectResponse(f"/console/services/{service_id}/jobs/{job['id']}?sent=1", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    request: Request, service_id: uuid.UUID, job_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The job's status and its notifications counted by status, as notify has them now."""
    access = await allowed(session, admin, service_id, SEND)
    answer = await notify_api(request, access).call("GET", f"/v2/jobs/{job_id}")
    if not answer.ok:
        raise PageError(status_code=404)
    job: dict[str, Any] = answer.body["data"]
    counts: dict[str, int] = job.get("statuses") or {}
    context = {
        "admin": admin,
        "access": access,
        "job": job,
        "created": when_iso(job.get("created_at")),
        "counts": sorted(counts.items()),
        "statuses": NOTIFICATION_STATUSES,
        "sent": request.query_params.get("sent") == "1",
    }
    return render(request, "console/bulk_job.html", context)
