"""Every component's generated OpenAPI document: no FastAPI 422 (never sent), and every `$ref` resolves."""

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
            assert "422" not in operation.get("responses", {}), f"{method.upper()} {path} documents a 422"
    text = json.dumps(document)
    schemas = document.get("components", {}).get("schemas", {})
    for ref in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert ref in schemas, f"{name}: dangling $ref {ref}"
