"""What pay's routes declare in its OpenAPI document: their error responses in GOV.UK Pay's `RequestError` shape,
and the 401 and 429 the gateway answers in front of them (ARCHITECTURE rule 5)."""

from __future__ import annotations

from typing import Any

REQUEST_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "A Request Error response",
    "properties": {
        "code": {"type": "string", "example": "P0102"},
        "description": {"type": "string"},
        "field": {"type": "string"},
        "header": {"type": "string"},
    },
}


def errors(*statuses: tuple[int, str], authenticated: bool = True) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each (status, description) with the `RequestError` body, plus the gateway's."""
    out: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": {"application/json": {"schema": REQUEST_ERROR}}}
        for status, text in statuses
    }
    if authenticated:
        out[401] = {"description": "The API key is missing or invalid (answered by the gateway)"}
    out[429] = {"description": "Too many requests: P0900 (answered by the gateway)"}
    return out


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its own JSON body (so FastAPI never validates it)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
