"""Template endpoints: GOV.UK Notify's v2 reads and preview (notify spec §7), the versions route the official
client calls (§18.1), and template management through the API (§18.1, platform error envelope)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from sqlalchemy import select

from gaap.app import FaultError, family_route
from gaap.db.deps import DbSession, ReadSession
from gaap.errors import Fault, Forbidden, json_response
from services.notify import schemas
from services.notify.auth import NotifyCaller
from services.notify.errors import NoResultFound
from services.notify.templates import repository as repo
from services.notify.templates import service as templates
from services.notify.templates.schemas import template_json
from services.notify.tenancy.models import LetterContact
from services.notify.validation import parse_uuid, validated_body, validated_query

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ValidationError or BadRequestError"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError"},
    404: {"description": "NoResultFound"},
    429: {"description": "RateLimitError"},
}
router = APIRouter(tags=["templates"], responses=ERRORS)
#: Versions are 32-bit integers in the database; a larger number cannot name one.
MAX_VERSION = 2**31 - 1
manage = APIRouter(tags=["manage templates"], route_class=family_route("platform"), responses=ERRORS)


async def _contact_block(session: Any, service_id: uuid.UUID) -> str | None:
    query = select(LetterContact.contact_block).where(
        LetterContact.service_id == service_id, LetterContact.is_default.is_(True)
    )
    return (await session.execute(query)).scalar_one_or_none()


@router.get("/v2/template/{template_id}")
async def get_template(template_id: str, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """The latest version of a template."""
    template = await templates.require(session, caller.service, parse_uuid(template_id, "id"))
    return template_json(template, letter_contact_block=await _contact_block(session, caller.service.id))


@router.get("/v2/template/{template_id}/version/{version}")
async def get_template_version(
    template_id: str, version: str, caller: NotifyCaller, session: ReadSession
) -> dict[str, Any]:
    """One version of a template (`0` is the latest)."""
    if not (version.isascii() and version.isdigit()):
        raise FaultError(Fault.not_found)
    tid = parse_uuid(template_id, "id")
    number = int(version)
    if number > MAX_VERSION:
        raise NoResultFound()
    found = (
        await repo.get(session, caller.service.id, tid)
        if number == 0
        else await repo.get_version(session, caller.service.id, tid, number)
    )
    if found is None:
        raise NoResultFound()
    return template_json(found, letter_contact_block=await _contact_block(session, caller.service.id))


@router.get("/v2/templates", openapi_extra=schemas.openapi_query_parameters(schemas.GET_TEMPLATES_QUERY))
async def list_templates(request: Request, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """Every template of the service that is not archived or hidden, by name."""
    query = validated_query(request.scope["query_string"], schemas.GET_TEMPLATES_QUERY)
    rows = await repo.list_visible(session, caller.service.id, query.get("type"))
    block = await _contact_block(session, caller.service.id)
    return {"templates": [template_json(t, letter_contact_block=block) for t in rows]}


@router.post(
    "/v2/template/{template_id}/preview", openapi_extra=schemas.openapi_request_body(schemas.POST_TEMPLATE_PREVIEW)
)
async def preview_template(
    template_id: str, request: Request, caller: NotifyCaller, session: ReadSession
) -> dict[str, Any]:
    """The template with personalisation filled in, and the email's HTML."""
    tid = parse_uuid(template_id, "id")
    raw = await request.body()
    body = validated_body(raw, schemas.POST_TEMPLATE_PREVIEW) if raw.strip() else {}
    template = await templates.require(session, caller.service, tid)
    return templates.preview(template, body.get("personalisation"), caller.service)


@router.get("/service/{service_id}/template/{template_id}/versions")
async def template_versions(
    service_id: str, template_id: str, request: Request, caller: NotifyCaller, session: ReadSession
) -> Any:
    """Every version of a template, newest first (what the official client's `get_all_template_versions` reads)."""
    if request.app.state.settings.strict_parity:
        return json_response(
            401, {"result": "error", "message": {"token": ["Unauthorized: not allowed to perform this action"]}}
        )
    sid = parse_uuid(service_id, "service_id")
    if sid != caller.service.id:
        raise NoResultFound()
    rows = await repo.versions(session, caller.service.id, parse_uuid(template_id, "template_id"))
    if not rows:
        raise NoResultFound()
    return {"data": [template_json(row) for row in rows]}


def _changed(request: Request, background: BackgroundTasks, template_id: uuid.UUID) -> None:
    """Every process drops its cached copy once the change is committed (the session commits before the answer
    goes out, and background tasks run after it)."""
    background.add_task(request.app.state.records.changed_template, template_id)


def _require_manage_scope(caller: Any) -> None:
    if "manage_templates" not in caller.principal.scopes:
        raise Forbidden(
            "This API key cannot manage templates: it needs the manage_templates scope", code="MissingScope"
        )


@manage.post(
    "/v2/manage-template", status_code=201, openapi_extra=schemas.openapi_request_body(schemas.POST_MANAGE_TEMPLATE)
)
async def create_template(
    request: Request, caller: NotifyCaller, session: DbSession, background: BackgroundTasks
) -> dict[str, Any]:
    """Create a template (keys with the `manage_templates` scope)."""
    _require_manage_scope(caller)
    body = validated_body(await request.body(), schemas.POST_MANAGE_TEMPLATE)
    template = await templates.create(
        session,
        caller.service,
        name=body["name"],
        template_type=body["type"],
        content=body["body"],
        subject=body.get("subject"),
        postage=body.get("postage"),
        process_type=body.get("process_type", "normal"),
        reply_to=uuid.UUID(body["reply_to_id"]) if body.get("reply_to_id") else None,
        created_by=f"api-key:{caller.principal.key_id}",
        has_unsubscribe_link=body.get("has_unsubscribe_link", False),
    )
    _changed(request, background, template.id)
    return template_json(template)


@manage.patch(
    "/v2/manage-template/{template_id}", openapi_extra=schemas.openapi_request_body(schemas.PATCH_MANAGE_TEMPLATE)
)
async def update_template(
    template_id: str, request: Request, caller: NotifyCaller, session: DbSession, background: BackgroundTasks
) -> dict[str, Any]:
    """Change a template; content changes make a new version."""
    _require_manage_scope(caller)
    body = validated_body(await request.body(), schemas.PATCH_MANAGE_TEMPLATE)
    template = await templates.require(session, caller.service, parse_uuid(template_id, "id"))
    fields = {
        "name": "name",
        "body": "content",
        "subject": "subject",
        "postage": "postage",
        "process_type": "process_type",
        "has_unsubscribe_link": "has_unsubscribe_link",
    }
    changes: dict[str, Any] = {column: body[key] for key, column in fields.items() if key in body}
    if "reply_to_id" in body:
        changes["reply_to"] = uuid.UUID(body["reply_to_id"]) if body["reply_to_id"] else None
    _changed(request, background, template.id)
    return template_json(await templates.update(session, template, changes))


@manage.delete("/v2/manage-template/{template_id}", status_code=204)
async def archive_template(
    template_id: str, request: Request, caller: NotifyCaller, session: DbSession, background: BackgroundTasks
) -> Response:
    """Archive a template: later sends get `Template has been deleted`."""
    _require_manage_scope(caller)
    template = await templates.require(session, caller.service, parse_uuid(template_id, "id"))
    await templates.archive(session, template)
    _changed(request, background, template.id)
    return Response(status_code=204, background=background)
