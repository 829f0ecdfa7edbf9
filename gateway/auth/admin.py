"""Who may call the gateway's admin API: a platform operator's admin token (a console session joins later)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gaap.db.deps import ReadSession
from gaap.errors import Unauthorized
from gateway.keys import repository as key_repo
from gateway.keys.formats import ADMIN_PREFIX
from gateway.keys.service import KeyMaterial


async def _require_admin(request: Request, session: ReadSession) -> str:
    authorization = request.headers.get("authorization", "")
    token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    if not token.startswith(ADMIN_PREFIX):
        raise Unauthorized("An admin token is required", headers={"WWW-Authenticate": "Bearer"})
    material: KeyMaterial = request.app.state.key_material
    row = await key_repo.admin_token_by_hash(session, material.hash(token))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("The admin token is not valid", headers={"WWW-Authenticate": "Bearer"})
    return f"admin-token:{row.name}"


#: Error responses every admin API route declares in OpenAPI.
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request"},
    401: {"description": "No valid admin token"},
    404: {"description": "Not found"},
    409: {"description": "Conflicts with existing state"},
}

#: The acting operator, as written to the audit log.
AdminActor = Annotated[str, Depends(_require_admin)]
