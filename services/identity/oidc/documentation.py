"""The page for relying-party developers (spec R1, R5), at `/identity/documentation`, in English and Welsh.

It is discovery's default `service_documentation` and the target of every `error_uri`: one entry per error code,
anchored by the code, rendered from `oidc/errors.py`'s table, and links to the vocabulary's JSON Schemas
(`oidc/vocab.py`), so neither list can drift from what identity answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.pages import PageRoute
from services.identity.deps import Op
from services.identity.oidc.authorize import VOCAB
from services.identity.oidc.errors import CHANNELS, DOCUMENTATION_PATH, ERRORS
from services.identity.oidc.vocab import SCHEMAS

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"])


@router.get("/" + DOCUMENTATION_PATH)
async def documentation(request: Request, op: Op) -> Response:
    """Documentation for developers of relying parties: every error identity answers, and the vocabulary's JSON
    Schemas."""
    context = {
        "issuer": op.issuer,
        "errors": list(ERRORS.values()),
        "channels": CHANNELS,
        "vocabulary": [
            {"name": name, "title": schema["title"], "claim": VOCAB + name, "schema": f"/identity/vocab/v1/{name}"}
            for name, schema in SCHEMAS.items()
        ],
    }
    response: Response = request.app.state.pages.render(request, "identity/documentation.html", context)
    return response
