"""Every response pay gives is checked against GOV.UK Pay's own OpenAPI document (pay spec §1).

`ReferenceContract.check(response)` finds the reference operation for the request (path template and method) and
validates the body with a JSON Schema validator against the schema the reference gives for the status. Where the
reference lists no schema for a status pay returns, §1 says which to use: error bodies → `RequestError`, the create
replay (200) → `CreatePaymentResult`, the refund-create 202 → `Refund`; bodiless statuses (204, the gateway's 401)
must have no body.

The reference is OpenAPI 3.0 (swagger-core output), converted to JSON Schema as OpenAPI 3.0 defines it
(`nullable: true` allows null). Two renderings of Java types are read as what the Java meant, as GOV.UK Pay itself
emits them, and nothing else is relaxed:
- `PostLink.params` is `Map<String, Object>`, rendered as `additionalProperties: {"type": "object"}`; GOV.UK Pay
  sends string values there (`chargeTokenId`, `one_time_token`);
- `card_details` always carries all its keys with JSON `null` for unknowns (§2, §14: `card_type` is JSON null, not
  the string "null" the reference's enum lists).

Two more points are §14's deliberate decisions, and only they: a recurring payment's `authorisation_mode` is
`agreement` (the reference's response enum lists `web`, `moto_api`, `external`), and an agreement's
`payment_instrument` carries its card under the wire key `card_details` (the reference names it `CardDetails`),
which is checked against the reference's card schema.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

#: The copy of `alphagov/pay-publicapi:openapi/publicapi_spec.json` beside the repository (pay spec §1).
REFERENCE = Path(__file__).resolve().parents[2] / "services" / "pay" / "reference" / "govuk-pay-publicapi-openapi.json"
FALLBACK = {"200": "CreatePaymentResult", "202": "Refund"}
NULLABLE_MEMBERS = ("CardDetails", "CardDetailsFromResponse")
#: Payment resources whose `authorisation_mode` may be `agreement` (§14).
AGREEMENT_MODE = ("PaymentDetailForSearch", "PaymentWithAllLinks")


def load_reference() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(REFERENCE.read_text())
    return document


def _openapi_to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also allows null, as OpenAPI 3.0 says it: a `$ref` takes no siblings, so it is wrapped; an
    enum lists null among its values (OpenAPI 3.0.3)."""
    if "$ref" in schema:
        return {"anyOf": [schema], "nullable": True}
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None], "nullable": True}
    return {**schema, "nullable": True}


def as_emitted(document: dict[str, Any]) -> dict[str, Any]:
    """The reference (still OpenAPI 3.0) with the readings listed above: what GOV.UK Pay, and pay, emit. The
    contract checks responses against it; a client is generated from it (`contract/test_generated_client.py`)."""
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    schemas["PostLink"]["properties"]["params"]["additionalProperties"] = {}
    for name in NULLABLE_MEMBERS:
        props = schemas[name]["properties"]
        for member in list(props):
            props[member] = _nullable(props[member])
    for name in AGREEMENT_MODE:
        schemas[name]["properties"]["authorisation_mode"]["enum"].append("agreement")
    instrument = schemas["PaymentInstrument"]["properties"]
    instrument["card_details"] = instrument.pop("CardDetails")
    return document


class ReferenceContract:
    def __init__(self) -> None:
        document = load_reference()
        schemas = as_emitted(document)["components"]["schemas"]
        self.components = {"schemas": _openapi_to_json_schema(schemas)}
        self.operations: list[tuple[re.Pattern[str], str, str, dict[str, Any]]] = []
        for template, methods in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$")
            for method, operation in methods.items():
                self.operations.append((pattern, method.upper(), template, operation))
        self._validators: dict[str, Draft202012Validator] = {}
        #: (method, path template, status) -> how many responses were checked: the coverage report.
        self.checked: Counter[tuple[str, str, int]] = Counter()

    def _operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, op_method, template, operation in self.operations:
            if op_method == method and pattern.match(path):
                return template, operation
        return None

    def validator(self, name: str) -> Draft202012Validator:
        found = self._validators.get(name)
        if found is None:
            schema = {"$ref": f"#/components/schemas/{name}", "components": self.components}
            found = self._validators[name] = Draft202012Validator(schema)
        return found

    def schema_name(self, operation: dict[str, Any], status: int) -> str | None:
        """The component the reference (or §1) gives for this status; None for a status without a body."""
        declared = operation.get("responses", {}).get(str(status))
        if declared is not None:
            ref = declared.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            if ref:
                return str(ref.rsplit("/", 1)[1])
        if str(status) in FALLBACK:
            return FALLBACK[str(status)]
        if status == 429:
            return "ErrorResponse"
        if status >= 400 and status != 401:
            return "RequestError"
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        found = self._operation(request.method, path)
        if found is None:
            return
        template, operation = found
        response.read()
        name = self.schema_name(operation, response.status_code)
        if name is None:
            assert response.content == b"", f"{request.method} {path} {response.status_code} must have no body"
        else:
            body = response.json()
            errors = sorted(self.validator(name).iter_errors(body), key=lambda e: list(e.path))
            assert not errors, f"{request.method} {path} {response.status_code} does not match {name}: " + "; ".join(
                f"{list(e.path)}: {e.message}" for e in errors[:5]
            )
        self.checked[(request.method, template, response.status_code)] += 1


CONTRACT = ReferenceContract()
