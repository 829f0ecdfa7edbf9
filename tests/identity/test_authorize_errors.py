"""Authorization request validation (spec §5.1, §5.4): errors before the redirect is validated are HTML pages
that never redirect; later errors redirect with One Login's texts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, RelyingParty, code_from


def authorize(rig: IdentityRig, params: dict[str, Any]) -> httpx.Response:
    return httpx.get(rig.gateway_url + "/authorize", params=params)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": "nobody"}, "Unknown client"),
        ({"redirect_uri": "https://attacker.example/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "https://rp.example.test/callback/"}, "Invalid redirect URI"),  # exact match only
        ({"redirect_uri": None}, "Invalid redirect URI"),
        ({"response_mode": "form_post"}, "Invalid response_mode parameter"),
    ],
)
def test_errors_before_the_redirect_is_known_never_redirect(
    identity_rig: IdentityRig, rp: RelyingParty, change: dict[str, Any], message: str
) -> None:
    answer = authorize(identity_rig, rp.authorize_params(**change))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text
    assert answer.headers["x-request-id"] in answer.text
    # For the service's developers: the code, and a link to its entry on the documentation page (R5).
    assert "Error code: invalid_request" in answer.text
    assert f'href="{identity_rig.issuer}identity/documentation#invalid_request"' in answer.text


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"state": None}, "invalid_request", "Request is missing state parameter"),
        ({"nonce": None}, "invalid_request", "Request is missing nonce parameter"),
        ({"response_type": "token"}, "unsupported_response_type", "Unsupported response type"),
        ({"scope": "email"}, "invalid_scope", "Invalid, unknown or malformed scope"),
        ({"scope": "openid profile"}, "invalid_scope", "Invalid, unknown or malformed scope"),
        ({"vtr": '["Cl.Cm.P9"]'}, "invalid_request", "Request vtr not valid"),
        ({"vtr": '["Cl.P2"]'}, "invalid_request", "Request vtr not valid"),
        ({"vtr": "Cl.Cm"}, "invalid_request", "Request vtr not valid"),
        ({"vtr": '["Cl.Cm.P2"]'}, "invalid_request", "Request vtr is not permitted"),
        ({"code_challenge_method": "plain"}, "invalid_request", "Invalid value for code_challenge_method parameter"),
        ({"code_challenge_method": None}, "invalid_request", "Invalid value for code_challenge_method parameter"),
        ({"code_challenge": "short"}, "invalid_request", "Invalid value for code_challenge parameter"),
        ({"claims": '{"userinfo": {"https://vocab.account.gov.uk/v1/coreIdentityJWT": null}}'},
         "invalid_request", "Request contains invalid claims"),
        ({"claims": "not json"}, "invalid_request", "Request contains invalid claims"),
        ({"prompt": "none login"}, "invalid_request", "Invalid prompt parameter"),
        ({"prompt": "select_account"}, "unmet_authentication_requirements",
         "Prompt parameter select_account is not supported"),
        ({"max_age": "-1"}, "invalid_request", "Invalid max_age parameter"),
        ({"request_uri": "https://rp.example.test/request.jwt"}, "request_uri_not_supported",
         "Request URI parameter is not supported"),
        ({"id_token_hint": "not-a-token"}, "invalid_request", "Invalid id_token_hint parameter"),
    ],
)  # fmt: skip
def test_later_errors_redirect_with_state(
    identity_rig: IdentityRig, rp: RelyingParty, change: dict[str, Any], error: str, description: str
) -> None:
    answer = authorize(identity_rig, rp.authorize_params(**change))
    assert answer.status_code == 302, answer.text[:300]
    assert answer.headers["location"].startswith(rp.redirect_uri + "?")
    params = code_from(answer.headers["location"])
    assert params["error"] == error
    assert params["error_description"] == description
    assert params["error_uri"] == identity_rig.issuer + "identity/documentation#" + error
    assert params.get("state") == change.get("state", rp.state)


def test_a_repeated_parameter_is_invalid(identity_rig: IdentityRig, rp: RelyingParty) -> None:
    pairs = [*rp.authorize_params().items(), ("scope", "openid")]
    answer = httpx.get(identity_rig.gateway_url + "/authorize", params=pairs)
    assert code_from(answer.headers["location"])["error"] == "invalid_request"


def test_client_settings_shape_the_rules(identity_rig: IdentityRig) -> None:
    inactive = identity_rig.rp(IsActive=False)
    answer = authorize(identity_rig, inactive.authorize_params())
    assert code_from(answer.headers["location"])["error_description"] == "client deactivated"
    strict = identity_rig.rp(PKCEEnforced=True)
    answer = authorize(identity_rig, strict.authorize_params(code_challenge=None, code_challenge_method=None))
    assert code_from(answer.headers["location"])["error"] == "invalid_request"
    relaxed = identity_rig.rp(PermitMissingNonce=True)
    answer = authorize(identity_rig, relaxed.authorize_params(nonce=None))
    assert answer.headers["location"].startswith("/identity/sign-in")
    proving = identity_rig.rp(ClientLoCs=["P0", "P2"], IdentityVerificationSupported=True)
    answer = authorize(identity_rig, proving.authorize_params(vtr='["Cl.Cm.P2"]'))
    assert answer.headers["location"].startswith("/identity/sign-in")  # sign in first, then prove
    level = identity_rig.rp(DefaultVtr='["Cl"]')
    assert authorize(identity_rig, level.authorize_params()).headers["location"].startswith("/identity/sign-in")


def test_post_authorize(identity_rig: IdentityRig, rp: RelyingParty, browser: Browser) -> None:
    answer = browser.client.post("/authorize", data=rp.authorize_params())
    assert answer.status_code == 303
    assert answer.headers["location"] == "/identity/sign-in"
