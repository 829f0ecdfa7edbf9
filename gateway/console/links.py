"""A service's payment links in the console (pay spec §15 B4): the list with each link's public address, creating
and editing a link, and archiving one after a confirmation step.

Links live in pay; the console reads and changes them on pay's internal API as the gateway, for the service and
account (`test` or `live`) the admin chose (`upstream.ServiceApi` with the internal scope). Pay checks each document
and names the field of every problem; the console shows those beside the fields, after checking what only the form
can get wrong (an amount that is not pounds and pence, a metadata line without a name). Each change is written to
the gateway's audit log with the admin as the actor. Seeing links needs `view_payments` or `refund_payments`;
changing them needs `admin`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gaap.db.deps import DbSession, ReadSession
from gaap.internal import INTERNAL_SCOPE
from gaap.pages import CsrfProtected, PageError
from gateway.audit import service as audit
from gateway.console.access import Admin, ConsoleRoute, ServiceAccess, SignedInAdmin
from gateway.console.notify import allowed, render
from gateway.console.pay import REFUND, VIEW, _pence, pounds
from gateway.console.texts import PAY_MODES
from gateway.console.upstream import Answer, ServiceApi

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/payment-links", route_class=ConsoleRoute, include_in_schema=False)
MANAGE = "admin"
FIELDS = (
    "title",
    "description",
    "amount_type",
    "amount",
    "min_amount",
    "max_amount",
    "reference_type",
    "reference_label",
    "reference_hint",
    "language",
    "metadata",
    "service_slug",
    "slug",
)
AMOUNT_TYPES = {"fixed": "A fixed amount", "payer": "The payer enters the amount"}
REFERENCE_TYPES = {"generated": "Each payment gets a reference made for it", "payer": "The payer enters a reference"}
LANGUAGES = {"en": "English", "cy": "Welsh"}
LINK_STATUSES = {"active": "Active", "archived": "Archived"}
#: What the form shows beside a field before pay is asked.
FORM_ERRORS = {
    "amount_type": "Select who decides the amount",
    "amount": "Enter the amount in pounds and pence, like 12.50",
    "min_amount": "Enter the minimum in pounds and pence, like 5.00, or leave it empty",
    "max_amount": "Enter the maximum in pounds and pence, like 500.00, or leave it empty",
    "reference_type": "Select how each payment gets its reference",
    "reference_label": "Enter the label of the reference the payer enters",
    "language": "Select English or Welsh",
    "metadata": "Write each metadata column on its own line as name: value",
}
#: Texts the console chooses in Python, for the Welsh catalogue's test.
TEXTS = (
    *AMOUNT_TYPES.values(),
    *REFERENCE_TYPES.values(),
    *LANGUAGES.values(),
    *LINK_STATUSES.values(),
    *FORM_ERRORS.values(),
)


def _mode(value: str | None) -> str:
    return value if value in PAY_MODES else "live"


def _base(service_id: uuid.UUID) -> str:
    return f"/console/services/{service_id}/payment-links"


def links_api(request: Request, access: ServiceAccess, mode: str) -> tuple[ServiceApi, str]:
    """Pay's internal API as the gateway acting for the service, and the path of the account's links."""
    api = ServiceApi(request, access, "pay", mode, frozenset({INTERNAL_SCOPE}))
    return api, f"/internal/services/{access.service.id}/accounts/{mode}/payment-links"


def amount_text(link: dict[str, Any]) -> str:
    """The amount as the list shows it: fixed, or the payer's range (the same in English and Welsh)."""
    if link.get("amount") is not None:
        return pounds(link["amount"])
    low, high = link.get("min_amount"), link.get("max_amount")
    return f"{pounds(low or 1)} – {pounds(high or 10_000_000)}"


@router.get("", response_class=HTMLResponse)
async def links_page(request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession) -> Response:
    """The account's payment links, newest first, with their public addresses."""
    access = await allowed(session, admin, service_id, VIEW, REFUND)
    mode = _mode(request.query_params.get("mode"))
    api, path = links_api(request, access, mode)
    answer = await api.call("GET", path)
    rows = [{**link, "amount_text": amount_text(link)} for link in answer.body.get("payment_links", [])]
    shown = {key: request.query_params.get(key, "") for key in ("created", "archived", "saved")}
    named = {key: next((row for row in rows if row["id"] == value), None) for key, value in shown.items() if value}
    context = {
        "admin": admin,
        "access": access,
        "rows": rows,
        "mode": mode,
        "modes": PAY_MODES,
        "statuses": LINK_STATUSES,
        "may_manage": access.may(MANAGE),
        "banner": named,
    }
    return render(request, "console/links.html", context)


def _form(
    request: Request,
    admin: Admin,
    access: ServiceAccess,
    mode: str,
    values: dict[str, str],
    errors: dict[str, str],
    link: dict[str, Any] | None = None,
) -> HTMLResponse:
    context = {
        "admin": admin,
        "access": access,
        "mode": mode,
        "mode_name": PAY_MODES[mode],
        "values": values,
        "errors": errors,
        "link": link,
        "fields": FIELDS,
        "amount_types": AMOUNT_TYPES,
        "reference_types": REFERENCE_TYPES,
        "languages": LANGUAGES,
        "has_errors": bool(errors),
    }
    return render(request, "console/links_form.html", context, 400 if errors else 200)


def _values_of(link: dict[str, Any]) -> dict[str, str]:
    """An existing link as the form shows it."""

    def money(pence: Any) -> str:
        return pounds(pence).lstrip("£").replace(",", "") if pence is not None else ""

    return {
        "title": link["title"],
        "description": link["description"],
        "amount_type": "fixed" if link["amount"] is not None else "payer",
        "amount": money(link["amount"]),
        "min_amount": money(link["min_amount"]),
        "max_amount": money(link["max_amount"]),
        "reference_type": "payer" if link["reference_label"] is not None else "generated",
        "reference_label": link["reference_label"] or "",
        "reference_hint": link["reference_hint"] or "",
        "language": link["language"],
        "metadata": "\n".join(f"{name}: {value}" for name, value in link["metadata"].items()),
        "service_slug": link["service_slug"],
        "slug": link["slug"],
    }


async def _submitted(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "").strip() for name in FIELDS}


def _document(values: dict[str, str], *, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The document pay is sent, and what the form itself finds wrong."""
    errors: dict[str, str] = {}
    document: dict[str, Any] = {"title": values["title"], "description": values["description"]}
    if values["amount_type"] == "fixed":
        document["amount"] = _money(values, "amount", errors, required=True)
    elif values["amount_type"] == "payer":
        document["min_amount"] = _money(values, "min_amount", errors, required=False)
        document["max_amount"] = _money(values, "max_amount", errors, required=False)
    else:
        errors["amount_type"] = FORM_ERRORS["amount_type"]
    if values["reference_type"] == "payer":
        if not values["reference_label"]:
            errors["reference_label"] = FORM_ERRORS["reference_label"]
        document["reference_label"] = values["reference_label"]
        document["reference_hint"] = values["reference_hint"] or None
    elif values["reference_type"] != "generated":
        errors["reference_type"] = FORM_ERRORS["reference_type"]
    if values["language"] not in LANGUAGES:
        errors["language"] = FORM_ERRORS["language"]
    document["language"] = values["language"]
    metadata = _metadata(values["metadata"])
    if metadata is None:
        errors["metadata"] = FORM_ERRORS["metadata"]
    document["metadata"] = metadata or None
    if creating:
        document["service_slug"] = values["service_slug"] or None
        document["slug"] = values["slug"] or None
    return document, errors


def _money(values: dict[str, str], field: str, errors: dict[str, str], *, required: bool) -> int | None:
    if not values[field] and not required:
        return None
    pence = _pence(values[field])
    if pence is None:
        errors[field] = FORM_ERRORS[field]
    return pence


def _metadata(text: str) -> dict[str, str] | None:
    """`name: value` lines (blank lines skipped) as metadata; None if a line is not one."""
    metadata: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return None
        metadata[name.strip()] = value.strip()
    return metadata


def _refusals(answer: Answer) -> dict[str, str]:
    """Pay's problems with the document, by field (its messages are message ids of the console's catalogue)."""
    problems = answer.body.get("errors") if isinstance(answer.body, dict) else None
    refused = {str(p.get("field")): str(p.get("message")) for p in problems or () if isinstance(p, dict)}
    if not refused:  # not a document pay could check: nothing the form can fix
        raise PageError(status_code=404 if answer.status == 404 else 400)
    return refused


async def _audit(session: AsyncSession, admin: Admin, access: ServiceAccess, action: str, link: dict[str, Any]) -> None:
    await audit.record(
        session,
        actor=admin.actor,
        action=action,
        target_type="payment_link",
        target_id=link["id"],
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"mode": link["mode"], "url": link["url"], "title": link["title"]},
    )


@router.get("/create", response_class=HTMLResponse)
async def create_page(request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: ReadSession) -> Response:
    """An empty form: a fixed amount, a generated reference, English."""
    access = await allowed(session, admin, service_id, MANAGE)
    values = dict.fromkeys(FIELDS, "") | {"amount_type": "fixed", "reference_type": "generated", "language": "en"}
    return _form(request, admin, access, _mode(request.query_params.get("mode")), values, {})


@router.post("/create")
async def create(
    request: Request, service_id: uuid.UUID, admin: SignedInAdmin, session: DbSession, _: CsrfProtected
) -> Response:
    """Ask pay for the link; its address is shown on the list it returns to."""
    access = await allowed(session, admin, service_id, MANAGE)
    mode = _mode(request.query_params.get("mode"))
    values = await _submitted(request)
    document, errors = _document(values, creating=True)
    if errors:
        return _form(request, admin, access, mode, values, errors)
    api, path = links_api(request, access, mode)
    answer = await api.call("POST", path, json=document)
    if not answer.ok:
        return _form(request, admin, access, mode, values, _refusals(answer))
    await _audit(session, admin, access, "payment_link.create", answer.body)
    return RedirectResponse(f"{_base(service_id)}?mode={mode}&created={answer.body['id']}", status_code=303)


async def _link(api: ServiceApi, path: str, link_id: str) -> dict[str, Any]:
    if not (link_id.isascii() and link_id.isalnum() and len(link_id) <= 64):
        raise PageError(status_code=404)
    answer = await api.call("GET", f"{path}/{link_id}")
    if not answer.ok:
        raise PageError(status_code=404)
    link: dict[str, Any] = answer.body
    return link


@router.get("/{link_id}/edit", response_class=HTMLResponse)
async def edit_page(
    request: Request, service_id: uuid.UUID, link_id: str, admin: SignedInAdmin, session: ReadSession
) -> Response:
    """The link's details (its address cannot change)."""
    access = await allowed(session, admin, service_id, MANAGE)
    mode = _mode(request.query_params.get("mode"))
    link = await _link(*links_api(request, access, mode), link_id)
    if link["status"] != "active":
        return RedirectResponse(f"{_base(service_id)}?mode={mode}", status_code=303)
    return _form(request, admin, access, mode, _values_of(link), {}, link)


@router.post("/{link_id}/edit")
async def edit(
    request: Request, service_id: uuid.UUID, link_id: str, admin: SignedInAdmin, session: DbSession, _: CsrfProtected
) -> Response:
    access = await allowed(session, admin, service_id, MANAGE)
    mode = _mode(request.query_params.get("mode"))
    api, path = links_api(request, access, mode)
    link = await _link(api, path, link_id)
    values = await _submitted(request) | {"service_slug": link["service_slug"], "slug": link["slug"]}
    document, errors = _document(values, creating=False)
    if errors:
        return _form(request, admin, access, mode, values, errors, link)
    answer = await api.call("PUT", f"{path}/{link_id}", json=document)
    if not answer.ok:
        return _form(request, admin, access, mode, values, _refusals(answer), link)
    await _audit(session, admin, access, "payment_link.update", answer.body)
    return RedirectResponse(f"{_base(service_id)}?mode={mode}&saved={link_id}", status_code=303)


@router.get("/{link_id}/archive", response_class=HTMLResponse)
async def archive_page(
    request: Request, service_id: uuid.UUID, link_id: str, admin: SignedInAdmin, session: ReadSession
) -> Response:
    """Confirm: citizens who open the link will be told it is no longer available."""
    access = await allowed(session, admin, service_id, MANAGE)
    mode = _mode(request.query_params.get("mode"))
    link = await _link(*links_api(request, access, mode), link_id)
    context = {"admin": admin, "access": access, "mode": mode, "link": link}
    return render(request, "console/links_archive.html", context)


@router.post("/{link_id}/archive")
async def archive(
    request: Request, service_id: uuid.UUID, link_id: str, admin: SignedInAdmin, session: DbSession, _: CsrfProtected
) -> Response:
    access = await allowed(session, admin, service_id, MANAGE)
    mode = _mode(request.query_params.get("mode"))
    api, path = links_api(request, access, mode)
    link = await _link(api, path, link_id)
    answer = await api.call("POST", f"{path}/{link_id}/archive")
    if not answer.ok:
        raise PageError(status_code=404)
    if link["status"] == "active":
        await _audit(session, admin, access, "payment_link.archive", answer.body)
    return RedirectResponse(f"{_base(service_id)}?mode={mode}&archived={link_id}", status_code=303)
