"""Signing secrets in the console (the `admin` role). Notify signs its callbacks and Pay its webhooks, and a
department's receiver needs each secret to check those signatures (notify spec §14.1, pay spec §12.1).

The page lists every secret by its end only. An admin asks to see them in full: that is a POST, written to the audit
log, and its answer is never cached (`no-store`, as every console page). Each secret can be rotated: the component
makes a new one and the old one keeps signing beside it for 24 hours (notify spec §14.1, pay spec §12.2), so the
receiver can move over. Each component keeps its own secrets and is asked for them on its internal API; the gateway
stores none of them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.internal import INTERNAL_SCOPE
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.settings_forms import CALLBACKS
from gateway.console.settings_webhooks import MODES, masked
from gateway.console.upstream import ServiceApi

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(
    prefix="/services/{service_id}/settings/signing-secrets", route_class=ConsoleRoute, include_in_schema=False
)
PAY_WEBHOOK = "Pay webhook"
#: Texts this module hands to the template (`translate`).
TEXTS = [PAY_WEBHOOK]


async def _admin_access(session: Any, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    access = await service_access(session, admin, service_id)
    access.require("admin")
    return access


def _api(request: Request, access: ServiceAccess, component: str) -> ServiceApi:
    return ServiceApi(request, access, component, None, frozenset({INTERNAL_SCOPE}))


async def _held(request: Request, access: ServiceAccess) -> tuple[list[dict[str, Any]], list[str]]:
    """Every signing secret of the service, Notify's callbacks first; and the components that could not be asked."""
    secrets: list[dict[str, Any]] = []
    unreachable: list[str] = []
    service_path = f"/internal/services/{access.service.id}"
    try:
        answer = await _api(request, access, "notify").call("GET", f"{service_path}/callbacks")
    except PageError:
        unreachable.append("Notify")
    else:
        for callback in answer.body.get("callbacks", []) if answer.ok else []:
            what = CALLBACKS.get(f"{callback['callback_type']}_callback", callback["callback_type"])
            secrets.append(
                {
                    "what": what,
                    "url": callback["url"],
                    "callback_type": callback["callback_type"],
                    "secret": callback["signing_secret"],
                    "previous_expires": callback.get("previous_secret_expires"),
                }
            )
    pay = _api(request, access, "pay")
    for mode, mode_name in MODES.items():
        try:
            answer = await pay.call("GET", f"{service_path}/accounts/{mode}/webhooks")
        except PageError:
            unreachable.append("Pay")
            break
        for hook in answer.body.get("webhooks", []) if answer.ok else []:
            secrets.append(
                {
                    "what": PAY_WEBHOOK,
                    "url": hook["callback_url"],
                    "mode": mode,
                    "mode_name": mode_name,
                    "webhook_id": hook["webhook_id"],
                    "secret": hook["signing_secret"],
                    "previous_expires": hook.get("previous_secret_expires"),
                }
            )
    return secrets, unreachable


async def _page(
    request: Request, admin: Admin, access: ServiceAccess, *, shown: bool, rotated: bool = False
) -> HTMLResponse:
    secrets, unreachable = await _held(request, access)
    if not shown:
        secrets = [{**s, "secret": masked(s["secret"])} for s in secrets]
    context = {
        "nav": "services",
        "admin": admin,
        "access": access,
        "secrets": secrets,
        "shown": shown,
        "rotated": rotated,
        "unreachable": unreachable,
    }
    pages: Pages = request.app.state.pages
    return pages.render(request, "console/signing_secrets.html", context)


@router.get("", response_class=HTMLResponse)
async def signing_secrets(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    rotated: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """Which signing secrets the service has, each by its end."""
    access = await _admin_access(session, admin, service_id)
    return await _page(request, admin, access, shown=False, rotated=rotated == "1")


@router.post("", response_class=HTMLResponse)
async def show_signing_secrets(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: DbSession, _: CsrfProtected
) -> HTMLResponse:
    """The secrets in full; who saw them is audited."""
    access = await _admin_access(session, admin, service_id)
    await audit.record(
        session,
        actor=admin.actor,
        action="service.signing_secrets_shown",
        target_type="service",
        target_id=access.service.id,
        service_id=access.service.id,
        organisation_id=access.organisation.id,
    )
    await session.commit()  # the record stands even if a component then fails to answer
    return await _page(request, admin, access, shown=True)


@router.post("/rotate")
async def rotate_signing_secret(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
    callback_type: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "",
    webhook_id: Annotated[str, Form()] = "",
) -> Response:
    """A new signing secret for one Notify callback (`callback_type`) or one Pay webhook (`mode`, `webhook_id`)."""
    access = await _admin_access(session, admin, service_id)
    service_path = f"/internal/services/{access.service.id}"
    if callback_type:
        component, path = "notify", f"{service_path}/callbacks/{callback_type}/rotate_secret"
        action, target_type, target_id = "callback.secret_rotated", "callback", callback_type
    elif mode in MODES and webhook_id:
        component, path = "pay", f"{service_path}/accounts/{mode}/webhooks/{webhook_id}/rotate_secret"
        action, target_type, target_id = "webhook.secret_rotated", "webhook", webhook_id
    else:
        raise PageError(status_code=404)
    answer = await _api(request, access, component).call("POST", path)
    if answer.status == 404:
        raise PageError(status_code=404)
    if not answer.ok:
        raise PageError(status_code=503)
    details = (
        {"callback_type": callback_type, "url": answer.body.get("url")}
        if callback_type
        else {"mode": mode, "callback_url": answer.body.get("callback_url")}
    )
    await audit.record(
        session,
        actor=admin.actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details=details,
    )
    return RedirectResponse(f"/console/services/{service_id}/settings/signing-secrets?rotated=1", status_code=303)
