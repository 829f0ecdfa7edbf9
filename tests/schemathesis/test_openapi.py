"""Bad input everywhere: schemathesis over each service's own OpenAPI document, sent through the gateway with real
keys, finds no 5xx and no answer its document does not promise (status, content type, body schema).

The budget is fixed and the run deterministic: Hypothesis is derandomized under one seed, the coverage phase
(boundary values, missing and wrongly typed fields, one unexpected method per path) generates exactly what each
document defines, and the fuzzing phase draws `MAX_EXAMPLES` cases per operation. About 2,200 requests in all; the
stateful phase is off, since no document declares links.

Each document is the one the service generates (`create_app().openapi()`), built at collection so each operation is
a test of its own; `test_documents_are_the_ones_served` checks it equals what the running service serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from notifications_python_client.authentication import create_jwt_token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.identity.app import create_app as create_identity
from services.notify.app import create_app as create_notify
from services.pay.app import create_app as create_pay
from tests.schemathesis.conftest import PlatformRig

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: GOV.UK Pay's own document describes what pay is held to on the wire; its statuses and shapes are checked against
#: every pay response by the pay tests' contract (`tests/pay/openapi_contract.py`, which reads the reference's Java
#: renderings as GOV.UK Pay means them). Here it is a second, independent source of bad input: no 5xx.
REFERENCE_CHECKS = [not_a_server_error]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240901,
        # Generation health checks measure the machine, not the API: on a loaded CI runner they would fail at random.
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": ["put"]}},
    }
)
DOCUMENTS: dict[str, dict[str, Any]] = {
    "notify": create_notify().openapi(),
    "pay": create_pay().openapi(),
    "identity": create_identity().openapi(),
}
REFERENCE = json.loads((ROOT / "services" / "pay" / "reference" / "govuk-pay-publicapi-openapi.json").read_text())

#: `/internal/*` is each service's API for the gateway alone: the gateway never routes it (it answers the family's
#: 404, `tests/gateway/test_routing.py`), so through the gateway there is nothing of it to fuzz.
INTERNAL = "^/internal/"
NOTIFY = schemathesis.openapi.from_dict(DOCUMENTS["notify"], config=CONFIG).exclude(path_regex=INTERNAL)
PAY = schemathesis.openapi.from_dict(DOCUMENTS["pay"], config=CONFIG).exclude(path_regex=INTERNAL)
IDENTITY = schemathesis.openapi.from_dict(DOCUMENTS["identity"], config=CONFIG).exclude(path_regex=INTERNAL)
PAY_REFERENCE = schemathesis.openapi.from_dict(REFERENCE, config=CONFIG)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _call(
    case: schemathesis.Case,
    rig: PlatformRig,
    http: requests.Session,
    headers: dict[str, str],
    checks: list[Any] = CHECKS,
) -> None:
    # Redirects are answers too: each is checked against the operation that gave it, never followed.
    case.call_and_validate(base_url=rig.url, session=http, headers=headers, checks=checks, allow_redirects=False)


def notify_auth(rig: PlatformRig) -> dict[str, str]:
    """A fresh token per request, as the official clients sign them (a token is good for 30 seconds)."""
    key = rig.notify_key
    return {"Authorization": f"Bearer {create_jwt_token(key[-36:], key[-73:-37])}"}


def test_documents_are_the_ones_served(platform_rig: PlatformRig) -> None:
    assert platform_rig.documents == DOCUMENTS


@NOTIFY.parametrize()
def test_notify(case: schemathesis.Case, platform_rig: PlatformRig, http: requests.Session) -> None:
    _call(case, platform_rig, http, notify_auth(platform_rig))


@PAY.parametrize()
def test_pay(case: schemathesis.Case, platform_rig: PlatformRig, http: requests.Session) -> None:
    _call(case, platform_rig, http, {"Authorization": f"Bearer {platform_rig.pay_key}"})


@PAY_REFERENCE.parametrize()
def test_pay_reference(case: schemathesis.Case, platform_rig: PlatformRig, http: requests.Session) -> None:
    _call(case, platform_rig, http, {"Authorization": f"Bearer {platform_rig.pay_key}"}, REFERENCE_CHECKS)


@IDENTITY.parametrize()
def test_identity(case: schemathesis.Case, platform_rig: PlatformRig, http: requests.Session) -> None:
    """Identity's API and pages need no key: its pages' own protections (CSRF, sessions) answer the fuzz."""
    _call(case, platform_rig, http, {})
