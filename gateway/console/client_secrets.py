"""A client secret for a relying party registered with `client_secret_post` or `client_secret_basic` (identity spec
§6): the console asks identity for a new one and shows it this once.

Identity makes the secret, keeps only its keyed hash, and answers it once on its internal API
(`POST /internal/services/{id}/clients/{client_id}/secret`); the gateway never stores it, and the page that shows
it is never cached (`no-store`, as every console page). A new secret replaces the old one at once. Like every
client action it needs the `admin` role and a CSRF token, and it is audited (`oidc_client.secret_generated`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageError
from gateway.audit import service as audit
from gateway.console.access import ConsoleRoute, SignedInAdmin
from gateway.console.clients import PRIVATE_KEY_JWT, admin_of, client_context, render, stored_client
from gateway.console.usage import internal_api

#: Included by the console's main router (`endpoints.py`), which adds the `/console` prefix.
router = APIRouter(prefix="/services/{service_id}/identity/clients", route_class=ConsoleRoute, include_in_schema=False)


@router.post("/{client_id}/secret", response_class=HTMLResponse)
async def generate_client_secret(
    request: Request,
    service_id: uuid.UUID,
    client_id: str,
    admin: SignedInAdmin,
    session: DbSession,
    _: CsrfProtected,
) -> HTMLResponse:
    """A new client secret, made by identity and shown this once; the previous one stops working."""
    access = await admin_of(session, admin, service_id)
    record = stored_client(access, client_id)
    if (record.get("TokenAuthMethod") or PRIVATE_KEY_JWT) == PRIVATE_KEY_JWT:
        raise PageError(status_code=404)
    path = f"/internal/services/{service_id}/clients/{client_id}/secret"
    answer = await internal_api(request, access, "identity").call("POST", path)
    if answer.status in (404, 409):
        # Identity does not hold the client as a client-secret client yet (its push is still to be delivered, or
        # was refused): nothing changed, and the client's page says where identity stands.
        context = await client_context(request, session, admin, access, record)
        return render(request, "console/client.html", {**context, "secret_refused": True, "has_errors": True}, 409)
    if not answer.ok or not isinstance(answer.body, dict) or "client_secret" not in answer.body:
        raise PageError(status_code=503)
    await audit.record(
        session,
        actor=admin.actor,
        action="oidc_client.secret_generated",
        target_type="oidc_client",
        target_id=client_id,
        service_id=access.service.id,
        organisation_id=access.organisation.id,
        details={"token_auth_method": answer.body.get("token_auth_method")},
    )
    context = {"admin": admin, "access": access, "client": record, "secret": answer.body["client_secret"]}
    return render(request, "console/client_secret.html", context)
