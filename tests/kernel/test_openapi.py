"""Every component's generated OpenAPI document: no FastAPI 422 (never sent), the 422s routes declare themselves
(Pay's), and every `$ref` resolves."""

from __future__ import annotations

import json
import re

import pytest

from gaap.cli.components import COMPONENTS, resolve


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_openapi_promises_no_422_and_refs_resolve(name: str) -> None:
    app = resolve(COMPONENTS[name].app)()
    own = getattr(app, "own_app", app)  # the gateway's front door wraps its FastAPI app
    document = own.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation.get("responses", {}).get("422", {})
            assert "HTTPValidationError" not in json.dumps(answer), f"{method.upper()} {path} documents FastAPI's 422"
    text = json.dumps(document)
    schemas = document.get("components", {}).get("schemas", {})
    for ref in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert ref in schemas, f"{name}: dangling $ref {ref}"


def test_a_422_a_route_declares_stays_in_the_document() -> None:
    """Pay answers 422 P0102 for a value out of range (GOV.UK Pay's reference does too): its document says so."""
    document = resolve(COMPONENTS["pay"].app)().openapi()
    for path, method in [("/v1/payments", "post"), ("/v1/payments/{payment_id}/refunds", "post"), ("/v1/auth", "post")]:
        answer = document["paths"][path][method]["responses"]["422"]
        assert answer["content"]["application/json"]["schema"]["properties"]["code"]["type"] == "string"
