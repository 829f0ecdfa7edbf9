"""A service's API keys in the console: list (with last use), create (the key is shown once, on the page that
answers the form, and never again), revoke (after a confirmation). Every change goes through `keys.service`, so
it is audited with the admin as the actor. Each page needs the `manage_api_keys` or `admin` role."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.errors import ApiError
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.auth.credentials import announce_invalidation
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.texts import KEY_FORM_ERRORS, KEY_KINDS, when
from gateway.keys import repository as key_repo
from gateway.keys import service as keys
from gateway.keys.models import ApiKey

router = APIRouter(prefix="/console/services/{service_id}/api-keys", route_class=ConsoleRoute, include_in_schema=False)
MANAGE = "manage_api_keys"


async def _key_manager(session: AsyncSession, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    access = await service_access(session, admin, service_id)
    access.require(MANAGE)
    return access


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "services", **context}, status_code)


def _kinds(access: ServiceAccess) -> list[dict[str, str]]:
    """The kinds of key this service may have (a trial service has no Notify live key)."""
    return [
        {"value": f"{api}:{key_type}", "name": name}
        for (api, key_type), name in KEY_KINDS.items()
        if not (access.service.restricted and (api, key_type) == ("notify", "normal"))
    ]


def _row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "kind": KEY_KINDS.get((key.api, key.key_type), key.key_type),
        "created": when(key.created_at),
        "last_used": when(key.last_used_at),
        "revoked": when(key.expiry_date),
    }


@router.get("", response_class=HTMLResponse)
async def keys_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    revoked: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    """The service's keys, newest first, with when each was last used; revoked keys stay listed."""
    access = await _key_manager(session, admin, service_id)
    rows = [_row(key) for key in reversed(await key_repo.keys_of_service(session, service_id))]
    just_revoked = next((row["name"] for row in rows if row["id"] == revoked and row["revoked"]), None)
    return _render(
        request, "console/api_keys.html", {"admin": admin, "access": access, "rows": rows, "just_revoked": just_revoked}
    )


@router.get("/create", response_class=HTMLResponse)
async def create_key_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """The form for a new key: its kind and a name."""
    access = await _key_manager(session, admin, service_id)
    context = {"admin": admin, "access": access, "kinds": _kinds(access), "values": {}, "errors": {}}
    return _render(request, "console/create_key.html", context)


@router.post("/create", response_class=HTMLResponse)
async def create_key(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Create the key and show it, this once."""
    access = await _key_manager(session, admin, service_id)
    api, _sep, key_type = kind.partition(":")
    try:
        key, full = await keys.create_key(
            session,
            request.app.state.key_material,
            service_id=service_id,
            api=api,
            name=name,
            key_type=key_type,
            actor=admin.actor,
        )
    except ApiError as exc:
        if exc.code not in KEY_FORM_ERRORS:
            raise
        field, message = KEY_FORM_ERRORS[exc.code]
        context = {
            "admin": admin,
            "access": access,
            "kinds": _kinds(access),
            "values": {"kind": kind, "name": name},
            "errors": {field: message},
            "has_errors": True,
        }
        return _render(request, "console/create_key.html", context, 400)
    return _render(
        request, "console/key_created.html", {"admin": admin, "access": access, "key": _row(key), "full": full}
    )


async def _key_of(session: AsyncSession, service_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.service_id != service_id:
        raise PageError(status_code=404)
    return key


@router.get("/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_key_page(
    request: Request, service_id: uuid.UUID, key_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> Response:
    """Ask the admin to confirm: a revoked key stops working at once and cannot be brought back."""
    access = await _key_manager(session, admin, service_id)
    key = await _key_of(session, service_id, key_id)
    if key.revoked:
        return RedirectResponse(f"/console/services/{service_id}/api-keys", status_code=303)
    return _render(request, "console/revoke_key.html", {"admin": admin, "access": access, "key": _row(key)})


@router.post("/{key_id}/revoke")
async def revoke_key(
    request: Request,
    service_id: uuid.UUID,
    key_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    background: BackgroundTasks,
    _: CsrfProtected,
) -> Response:
    """Revoke the key; every gateway process stops accepting it (announced once the change is committed)."""
    await _key_manager(session, admin, service_id)
    await _key_of(session, service_id, key_id)
    await keys.revoke_key(session, service_id, key_id, actor=admin.actor)
    background.add_task(announce_invalidation, request.app.state.redis)
    return RedirectResponse(f"/console/services/{service_id}/api-keys?revoked={key_id}", status_code=303)
