"""Request objects (JAR by value, RFC 9101; spec §5.3): a signed object's parameters replace the query's, every
bad object is `invalid_request_object` on the error page (never a redirect), `JarValidationRequired` clients must
sign, and a re-authentication (`prompt=login` with `id_token_hint`) can be completed only by the hinted user."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from, confused_token

pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)


def tokens_for(rig: IdentityRig, rp: RelyingParty, code: str) -> dict[str, Any]:
    answer = httpx.post(rig.gateway_url + "/token", data=rp.token_form(code), timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_discovery_advertises_request_objects(identity_rig: IdentityRig) -> None:
    document = httpx.get(identity_rig.gateway_url + "/.well-known/openid-configuration").json()
    assert document["request_parameter_supported"] is True
    assert document["request_uri_parameter_supported"] is False
    assert "none" not in document["request_object_signing_alg_values_supported"]
    assert "ES256" in document["request_object_signing_alg_values_supported"]


@pytest.mark.parametrize("audience", ["authorize", ""])
def test_a_signed_request_object_replaces_the_query(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser, audience: str
) -> None:
    token = rp.request_object(
        aud=rp.issuer + audience,
        # JSON values as OpenID Connect sends them inside an object.
        vtr=["Cl.Cm"],
        max_age=3600,
        claims={"userinfo": {"name": {"essential": True}}},  # not supported: ignored
        ui_locales="cy",
    )
    # Every other query parameter is ignored: the object's state and nonce are the ones used.
    answer = browser.follow(browser.get(rp.jar_url(token, state="from-the-query", nonce="from-the-query")))
    assert 'lang="cy"' in answer.text  # the object's ui_locales
    answer = browser.sign_in(person)
    assert answer.status_code == 302, answer.text[:300]
    params = code_from(answer.headers["location"])
    assert params["state"] == rp.state
    body = tokens_for(identity_rig, rp, params["code"])
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    claims = rp.verify_id_token(body["id_token"], jwks)  # checks the object's nonce
    assert claims["vot"] == "Cl.Cm"


def test_bad_request_objects_are_refused_on_the_error_page(identity_rig: IdentityRig, rp: RelyingParty) -> None:
    now = int(time.time())
    stranger = ec.generate_private_key(ec.SECP256R1())
    base = {"iss": rp.client_id, "aud": rp.issuer + "authorize", **rp.authorize_params()}
    cases = {
        "not a JWT": "not.a.jwt",
        "alg none": jwt.encode(base, None, algorithm="none"),
        # The classic confusion: HMAC keyed with the client's public key.
        "HS256 with the public key": confused_token(base, rp.key, rp.kid),
        "another key": rp.request_object(key=stranger),
        "iss": rp.request_object(iss="someone-else"),
        "aud": rp.request_object(aud="https://elsewhere.example/"),
        "expired": rp.request_object(exp=now - 120),
        "not yet valid": rp.request_object(nbf=now + 600),
        "nested": rp.request_object(request_uri="https://rp.example.test/r.jwt"),
        "wrong type": rp.request_object(max_age=True),
    }
    for case, token in cases.items():
        answer = httpx.get(identity_rig.gateway_url + rp.jar_url(token))
        assert answer.status_code == 400, (case, answer.status_code, answer.headers.get("location"))
        assert "location" not in answer.headers, case
        assert answer.headers["content-type"].startswith("text/html"), case
        assert answer.headers["x-request-id"] in answer.text, case
        assert f'href="{rp.issuer}identity/documentation#invalid_request_object"' in answer.text, case
    expired = httpx.get(identity_rig.gateway_url + rp.jar_url(cases["expired"]))
    assert "The request object has expired" in expired.text


def test_the_query_must_match_the_object(identity_rig: IdentityRig, rp: RelyingParty) -> None:
    token = rp.request_object()
    for query in ({"scope": "openid"}, {"response_type": None}):
        answer = httpx.get(identity_rig.gateway_url + rp.jar_url(token, **query))
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "must match the request object" in answer.text
    # Checks after the redirect is known still redirect, with the object's state.
    answer = httpx.get(identity_rig.gateway_url + rp.jar_url(rp.request_object(vtr='["Cl.P2"]')))
    assert answer.status_code == 302
    params = code_from(answer.headers["location"])
    assert (params["error_description"], params["state"]) == ("Request vtr not valid", rp.state)


def test_jar_validation_required_clients_must_sign(identity_rig: IdentityRig, browser: Browser) -> None:
    rp = identity_rig.rp(JarValidationRequired=True)
    answer = httpx.get(identity_rig.gateway_url + "/authorize", params=rp.authorize_params())
    assert answer.status_code == 302
    params = code_from(answer.headers["location"])
    assert params["error"] == "invalid_request"
    assert params["error_description"] == "Request must be a signed request object (JAR)"
    answer = browser.get(rp.jar_url(rp.request_object()))
    assert answer.headers["location"] == "/identity/sign-in"


def reauthenticate(identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser) -> httpx.Response:
    """Sign `person` in once, then ask to re-authenticate them: the sign-in page, despite the live session."""
    first = browser.sign_in(person) if browser.authorize(rp).status_code != 302 else browser.last
    assert first is not None and first.status_code == 302
    id_token = tokens_for(identity_rig, rp, code_from(first.headers["location"])["code"])["id_token"]
    token = rp.request_object(prompt="login", id_token_hint=id_token)
    answer = browser.follow(browser.get(rp.jar_url(token)))
    assert answer.status_code == 200
    assert browser.client.cookies  # the session lives on, signed out, while the request waits
    return answer


def test_reauthentication_by_the_same_user_issues_a_code(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    reauthenticate(identity_rig, rp, person, browser)
    answer = browser.sign_in(person)
    assert answer.status_code == 302
    assert "code" in code_from(answer.headers["location"])


def test_reauthentication_as_someone_else_ends_the_session(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    reauthenticate(identity_rig, rp, person, browser)
    answer = browser.sign_in(identity_rig.person(), second_factor=False)
    assert answer.status_code == 302
    params = code_from(answer.headers["location"])
    assert (params["error"], params["state"]) == ("login_required", rp.state)
    silent = browser.get("/authorize", params=rp.authorize_params(prompt="none"))
    assert code_from(silent.headers["location"])["error"] == "login_required"  # signed out


def test_reauthentication_that_fails_too_often_ends_the_session(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    reauthenticate(identity_rig, rp, person, browser)
    browser.submit("/identity/sign-in", email=person.email)
    for _ in range(identity_rig.settings.password_max_failures - 1):
        assert browser.submit("/identity/sign-in/password", password="not the password").status_code == 400
    answer = browser.submit("/identity/sign-in/password", password="not the password")
    assert answer.status_code == 302
    assert code_from(answer.headers["location"])["error"] == "login_required"
