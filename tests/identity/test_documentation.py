"""The page for relying-party developers (spec R1, R5): an entry, anchored by its code, for every error identity can
answer (found by reading identity's code and the Authlib code it runs), in English and Welsh through the gateway;
links to every vocabulary schema; and discovery's `service_documentation`, `op_policy_uri` and `op_tos_uri`."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gaap.errors import Fault
from gaap.settings import ConfigurationError, Environment, PlatformSettings
from services.identity.oidc.errors import ERRORS, DocumentedOAuthFamily
from services.identity.oidc.vocab import SCHEMAS
from services.identity.settings import IdentitySettings
from tests.identity.conftest import IdentityRig

IDENTITY = Path(__file__).resolve().parents[2] / "services" / "identity"
CODE = re.compile(r"^[a-z]+(?:_[a-z]+)+$")
#: identity's functions that answer an OAuth error, each taking the code as a literal argument.
EMITTERS = {"oauth_error", "refuse", "fail", "AuthorizeError"}
#: The Authlib modules identity's server runs: the code grant, client authentication, PKCE and the token endpoint.
#: (`authlib.oidc.core.grants.util`'s prompt errors never fire: identity decides `prompt` before Authlib sees the
#: request, and passes it none.)
AUTHLIB_MODULES = (
    "authlib.oauth2.rfc6749.authorization_server",
    "authlib.oauth2.rfc6749.grants.authorization_code",
    "authlib.oauth2.rfc6749.grants.base",
    "authlib.oauth2.rfc6749.authenticate_client",
    "authlib.oauth2.rfc7523.client",
    "authlib.oauth2.rfc7636.challenge",
)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _literal_codes(tree: ast.AST) -> Iterator[str]:
    """Codes written in identity's code: literal arguments of its error functions, `{"error": "..."}` bodies, and
    the Authlib error classes it raises."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in EMITTERS:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and CODE.match(arg.value):
                    yield arg.value
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "error" and isinstance(value, ast.Constant):
                    yield str(value.value)


def _raised_classes(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            called = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = _name(called)
            if name and name.endswith("Error"):
                yield name


def _authlib_code(name: str) -> str | None:
    for module in ("authlib.oauth2.rfc6749.errors", "authlib.oidc.core.errors", "authlib.oauth2.rfc6750.errors"):
        found = getattr(importlib.import_module(module), name, None)
        if found is not None and isinstance(getattr(found, "error", None), str):
            return str(found.error)
    return None


def emitted_codes() -> dict[str, str]:
    """Every error code identity can answer, with where it was found."""
    codes: dict[str, str] = {}
    for path in sorted(IDENTITY.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for code in _literal_codes(tree):
            codes.setdefault(code, str(path.relative_to(IDENTITY)))
        for name in _raised_classes(tree):
            code = _authlib_code(name)
            if code:
                codes.setdefault(code, f"{path.relative_to(IDENTITY)} raises {name}")
    for module in AUTHLIB_MODULES:
        for name in _raised_classes(ast.parse(inspect.getsource(importlib.import_module(module)))):
            code = _authlib_code(name)
            if code:
                codes.setdefault(code, f"{module} raises {name}")
    family = DocumentedOAuthFamily(lambda: "https://issuer.example/")
    for fault in Fault:
        codes.setdefault(family.fault_body(fault, 400, "rid", None)["error"], f"the kernel's answer to {fault}")
    return codes


def test_every_error_identity_can_answer_is_explained() -> None:
    codes = emitted_codes()
    # The reading finds what it must (so a change to how errors are written cannot make it find nothing).
    assert {
        "invalid_request", "invalid_request_object", "request_uri_not_supported", "unauthorized_client",
        "unsupported_response_type", "invalid_scope", "unmet_authentication_requirements", "login_required",
        "interaction_required", "access_denied", "temporarily_unavailable", "server_error", "invalid_client",
        "invalid_grant", "unsupported_grant_type", "invalid_token", "not_found",
    } <= set(codes)  # fmt: skip
    assert {code: where for code, where in codes.items() if code not in ERRORS} == {}
    assert set(ERRORS) <= set(codes)  # and the page explains nothing identity never answers


def test_the_kernel_answers_carry_error_uri() -> None:
    family = DocumentedOAuthFamily(lambda: "https://issuer.example/")
    body = family.fault_body(Fault.internal, 500, "rid", None)
    assert body == {
        "error": "server_error",
        "error_description": "Internal server error",
        "error_uri": "https://issuer.example/identity/documentation#server_error",
    }


def _anchors(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


@pytest.mark.parametrize(
    ("lang", "heading", "section"),
    [("en", "Documentation for developers", "Errors"), ("cy", "Dogfennaeth i ddatblygwyr", "Gwallau")],
)
def test_the_page_through_the_gateway(identity_rig: IdentityRig, lang: str, heading: str, section: str) -> None:
    answer = httpx.get(identity_rig.gateway_url + "/identity/documentation", params={"lang": lang})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-language"] == lang
    html = answer.text
    assert f'<html lang="{lang}"' in html
    assert f">{heading}</h1>" in html and f'id="errors">{section}</h2>' in html
    anchors = _anchors(html)
    assert set(ERRORS) <= anchors, set(ERRORS) - anchors
    for code in ERRORS:
        assert f'href="#{code}"' in html  # the contents list links each entry
    assert "vocabulary" in anchors
    for name in SCHEMAS:
        assert f'href="/identity/vocab/v1/{name}"' in html
        assert f"https://vocab.account.gov.uk/v1/{name}" in html
    assert f"{identity_rig.issuer}.well-known/openid-configuration" in html


def test_the_linked_schemas_are_served(identity_rig: IdentityRig) -> None:
    html = httpx.get(identity_rig.gateway_url + "/identity/documentation").text
    for path in re.findall(r'href="(/identity/vocab/v1/[^"]+)"', html):
        answer = httpx.get(identity_rig.gateway_url + path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "application/schema+json"
    missing = httpx.get(identity_rig.gateway_url + "/identity/vocab/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["error_uri"] == identity_rig.issuer + "identity/documentation#invalid_request"


def test_discovery_links_the_documentation(identity_rig: IdentityRig) -> None:
    url = identity_rig.gateway_url + "/.well-known/openid-configuration"
    document = httpx.get(url).json()
    assert document["service_documentation"] == identity_rig.issuer + "identity/documentation"
    assert "op_policy_uri" not in document and "op_tos_uri" not in document  # never advertised empty
    settings = identity_rig.settings
    try:
        settings.op_policy_uri = "https://www.gov.uk/government/publications/privacy-notice"
        settings.op_tos_uri = "https://www.gov.uk/help/terms-conditions"
        settings.service_documentation = "https://docs.example.gov.uk/identity"
        document = httpx.get(url).json()
        refused = httpx.post(identity_rig.gateway_url + "/token", data={"grant_type": "password"})
    finally:
        settings.op_policy_uri = settings.op_tos_uri = settings.service_documentation = ""
    assert document["op_policy_uri"] == "https://www.gov.uk/government/publications/privacy-notice"
    assert document["op_tos_uri"] == "https://www.gov.uk/help/terms-conditions"
    assert document["service_documentation"] == "https://docs.example.gov.uk/identity"
    # The error reference stays identity's own page, whatever service_documentation says.
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "unsupported_grant_type",
        "error_uri": identity_rig.issuer + "identity/documentation#unsupported_grant_type",
    }


def test_documentation_settings_are_public_urls() -> None:
    production = PlatformSettings(env=Environment.production, public_base_url="https://gaap.example.gov.uk")
    for name in ("service_documentation", "op_policy_uri", "op_tos_uri"):
        variable = f"IDENTITY_{name.upper()}"
        assert getattr(IdentitySettings(), name) == ""  # absent unless configured
        with pytest.raises(ConfigurationError, match=variable):
            IdentitySettings(**{name: "http://docs.example.gov.uk/identity"})  # http only on loopback
        with pytest.raises(ConfigurationError, match=variable):
            IdentitySettings(**{name: "/identity/documentation"})  # absolute
        with pytest.raises(ConfigurationError, match=variable):
            IdentitySettings(platform=production, **{name: "http://127.0.0.1:8000/policy"})  # development only
        assert getattr(IdentitySettings(**{name: "http://127.0.0.1:8000/policy"}), name).startswith("http://")
        accepted = IdentitySettings(platform=production, **{name: "https://www.gov.uk/help/privacy"})
        assert getattr(accepted, name) == "https://www.gov.uk/help/privacy"
