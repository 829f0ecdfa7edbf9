"""A service's settings in the console (the `admin` role): trial or live, Notify's daily limits and rate limit,
reply-to addresses and text sender, data retention, Notify's callbacks, and Pay's webhooks.

The settings live in the gateway (`Service.settings[<component>]`, and the service's `restricted` and
`rate_limit`) and reach the components by push. Each form saves through `settings_push.save`, which delivers the
push before answering (`gateway.sync.settle`), so a component's refusal comes back on the form and the refused
setting is not kept; a component that cannot be reached gets the change later, and a later refusal shows here.
Secrets are never shown back: a callback's bearer token is only said to be set, and of a Pay webhook's signing
secret only its end is shown here (in full, on demand, on the signing secrets page: `settings_secrets.py`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import ReadSession
from gaap.pages import CsrfProtected, PageError, Pages
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin, service_access
from gateway.console.settings_forms import (
    CALLBACKS,
    NOT_SET,
    NOTIFY_DEFAULT,
    RETENTION_LABELS,
    SECTIONS,
    TOKEN_SET,
    Change,
    FormErrors,
    Section,
    field_for,
    notify_settings,
)
from gateway.console.settings_push import save
from gateway.console.settings_webhooks import ADD_WEBHOOK, EVENTS, MODES, held_by_pay, webhooks_of, with_webhooks
from gateway.sync.deps import DeliverPushes
from gateway.sync.settle import latest
from gateway.tenants.models import Service

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/settings", route_class=ConsoleRoute, include_in_schema=False)
COMPONENT_NAMES = {"notify": "Notify", "pay": "Pay", "identity": "Identity"}


async def _admin_access(session: AsyncSession, admin: Admin, service_id: uuid.UUID) -> ServiceAccess:
    access = await service_access(session, admin, service_id)
    access.require("admin")
    return access


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {"nav": "services", **context}, status_code)


def _row(key: str, value: str | None, *, default: str = NOT_SET, translated: bool = False) -> dict[str, Any]:
    """A summary row: a value the admin set (shown as it is), or a text of ours (translated)."""
    if value in (None, "", []):
        return {"key": key, "value": default, "translate": True}
    return {"key": key, "value": value, "translate": translated}


def _summary(service: Service) -> dict[str, list[dict[str, Any]]]:
    """Each section's rows, as the settings page lists them."""
    notify = notify_settings(service)
    retention = notify.get("data_retention") or {}
    callbacks = []
    for key, name in CALLBACKS.items():
        held = notify.get(key) or {}
        callbacks.append(_row(f"{name} URL", held.get("url")))
        callbacks.append(_row(f"{name} bearer token", TOKEN_SET if held.get("bearer_token") else None, translated=True))
    limits = [f for f in SECTIONS["limits"].fields if f.name != "rate_limit"]
    return {
        "mode": [_row("Status", "Trial mode" if service.restricted else "Live", translated=True)],
        "limits": [
            *(_row(f.label, str(notify.get(f.path, "")), default=NOTIFY_DEFAULT) for f in limits),
            _row(SECTIONS["limits"].fields[-1].label, str(service.rate_limit)),
        ],
        "senders": [
            _row("Email reply-to addresses", ", ".join(notify.get("email_reply_to") or [])),
            _row("Text message sender name", notify.get("sms_sender") or "GOVUK"),
        ],
        "retention": [
            _row(label, str(retention.get(channel, "")), default=NOTIFY_DEFAULT)
            for channel, label in RETENTION_LABELS.items()
        ],
        "callbacks": callbacks,
    }


def _webhook_rows(service: Service, held: dict[str, dict[str, dict[str, Any]]] | None) -> list[dict[str, Any]]:
    rows = []
    for mode in MODES:
        for hook in webhooks_of(service, mode):
            state = (held or {}).get(mode, {}).get(hook["callback_url"], {})
            rows.append(
                {
                    "mode": mode,
                    "mode_name": MODES[mode],
                    "url": hook["callback_url"],
                    "description": hook.get("description") or "",
                    "events": [EVENTS.get(e, e) for e in hook.get("subscriptions", [])],
                    "status": state.get("status", ""),
                    "secret": state.get("secret", ""),
                }
            )
    return rows


async def _settings(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    session: AsyncSession,
    *,
    saved: str = "",
    waiting: str = "",
    refusal: dict[str, str] | None = None,
) -> HTMLResponse:
    held = await held_by_pay(request, access)
    refusals = [
        {"component": COMPONENT_NAMES.get(component, component), "reason": verdict.message}
        for component, verdict in sorted((await latest(session, access.service.id)).items())
        if verdict.refused
    ]
    context = {
        "admin": admin,
        "access": access,
        "sections": [(SECTIONS[slug], rows) for slug, rows in _summary(access.service).items()],
        "webhooks": _webhook_rows(access.service, held),
        "pay_unreachable": held is None,
        "refusals": refusals,
        "refusal": refusal,
        "has_errors": refusal is not None,
        "saved": saved if saved in SECTIONS or saved in ("webhooks", "webhook-removed") else "",
        "waiting": COMPONENT_NAMES.get(waiting, ""),
    }
    return _render(request, "console/settings.html", context, 400 if refusal else 200)


@router.get("", response_class=HTMLResponse)
async def settings_page(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    saved: Annotated[str, Query()] = "",
    waiting: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """Every setting, each section with a link to change it, and any refusal a component sent back later."""
    access = await _admin_access(session, admin, service_id)
    return await _settings(request, admin, access, session, saved=saved, waiting=waiting)


def _path(section: Section) -> str:
    return "webhooks/add" if section is ADD_WEBHOOK else section.slug


def _form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    section: Section,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    refusal: dict[str, str] | None = None,
) -> HTMLResponse:
    failed = bool(errors or refusal)
    context = {
        "admin": admin,
        "access": access,
        "section": section,
        "values": values,
        "errors": errors or {},
        "refusal": refusal,
        "has_errors": failed,
        "action": f"/console/services/{access.service.id}/settings/{_path(section)}",
    }
    return _render(request, "console/settings_form.html", context, 400 if failed else 200)


async def _submit(request: Request, admin: Admin, access: ServiceAccess, section: Section) -> Response:
    """Turn the form into settings, save and push them, and show what the component said."""
    form = await request.form()
    values: dict[str, Any] = {
        **section.read(access.service),  # what the form shows besides its fields (whether a token is set)
        **{
            f.name: [str(v) for v in form.getlist(f.name)] if f.kind == "checkboxes" else str(form.get(f.name, ""))
            for f in section.fields
        },
    }
    state = request.app.state
    try:
        change = section.build(access.service, values)
        verdict = await save(state.db, state.pusher, access.service.id, section.component, change, actor=admin.actor)
    except FormErrors as exc:
        return _form(request, admin, access, section, values, errors=exc.errors)
    if verdict is not None and verdict.refused:
        field = field_for(section, verdict.location, verdict.message, values, section.read(access.service))
        refusal = {"field": field, "component": COMPONENT_NAMES[section.component], "reason": verdict.message}
        return _form(request, admin, access, section, values, refusal=refusal)
    target = f"/console/services/{access.service.id}/settings?saved={section.slug}"
    waiting = verdict is not None and verdict.pending
    return RedirectResponse(target + (f"&waiting={section.component}" if waiting else ""), status_code=303)


@router.get("/webhooks/add", response_class=HTMLResponse)
async def add_webhook_page(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """A new webhook: the account, its URL, a description and the events it receives."""
    access = await _admin_access(session, admin, service_id)
    return _form(request, admin, access, ADD_WEBHOOK, ADD_WEBHOOK.read(access.service))


@router.post("/webhooks/add", dependencies=[DeliverPushes])
async def add_webhook(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession, _: CsrfProtected
) -> Response:
    """Add the webhook; pay makes its signing secret."""
    return await _submit(request, admin, await _admin_access(session, admin, service_id), ADD_WEBHOOK)


@router.post("/webhooks/remove", dependencies=[DeliverPushes])
async def remove_webhook(
    request: Request,
    service_id: uuid.UUID,
    admin: SignedInAdmin,
    session: ReadSession,
    _: CsrfProtected,
    mode: Annotated[str, Form()] = "",
    callback_url: Annotated[str, Form()] = "",
) -> Response:
    """Remove a webhook: pay stops calling it (and keeps its delivery log)."""
    access = await _admin_access(session, admin, service_id)
    hooks = webhooks_of(access.service, mode) if mode in MODES else []
    kept = [hook for hook in hooks if hook.get("callback_url") != callback_url]
    if len(kept) == len(hooks):
        raise PageError(status_code=404)
    state = request.app.state
    verdict = await save(
        state.db,
        state.pusher,
        service_id,
        "pay",
        Change(component_settings=with_webhooks(access.service, mode, kept)),
        actor=admin.actor,
    )
    if verdict is not None and verdict.refused:
        refusal = {"component": COMPONENT_NAMES["pay"], "reason": verdict.message}
        return await _settings(request, admin, access, session, refusal=refusal)
    target = f"/console/services/{service_id}/settings?saved=webhook-removed"
    waiting = verdict is not None and verdict.pending
    return RedirectResponse(target + ("&waiting=pay" if waiting else ""), status_code=303)


@router.get("/{slug}", response_class=HTMLResponse)
async def section_page(
    request: Request, service_id: uuid.UUID, slug: str, admin: SignedInAdmin, session: ReadSession
) -> HTMLResponse:
    """One section's form, filled in with the current settings (never a secret)."""
    access = await _admin_access(session, admin, service_id)
    section = SECTIONS.get(slug)
    if section is None:
        raise PageError(status_code=404)
    return _form(request, admin, access, section, section.read(access.service))


@router.post("/{slug}", dependencies=[DeliverPushes])
async def change_section(
    request: Request, service_id: uuid.UUID, slug: str, admin: SignedInAdmin, session: ReadSession, _: CsrfProtected
) -> Response:
    """Save the section's settings if the component accepts them; otherwise show its refusal on the form."""
    access = await _admin_access(session, admin, service_id)
    section = SECTIONS.get(slug)
    if section is None:
        raise PageError(status_code=404)
    return await _submit(request, admin, access, section)
