"""The code flow end to end through the gateway: a relying party that does not use Authlib signs in a user at
`Cl.Cm`, checks the ID token against the JWKS, and reads UserInfo (spec §5, §6, §7)."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from, confused_token


def exchange(rig: IdentityRig, rp: RelyingParty, code: str, **overrides: str | None) -> httpx.Response:
    return httpx.post(rig.gateway_url + "/token", data=rp.token_form(code, **overrides), timeout=30)


def signed_in_code(browser: Browser, rp: RelyingParty, person: Person, **params: str | None) -> dict[str, str]:
    answer = browser.authorize(rp, **params)
    if answer.status_code != 302:  # no single sign-on yet: sign in
        answer = browser.sign_in(person)
    assert answer.status_code == 302, answer.text[:500]
    assert answer.headers["location"].startswith(rp.redirect_uri)
    return code_from(answer.headers["location"])


def test_full_flow_at_cl_cm(identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser) -> None:
    params = signed_in_code(browser, rp, person)
    assert params["state"] == rp.state
    started = int(time.time())
    tokens = exchange(identity_rig, rp, params["code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 180
    assert body["scope"] == "openid email"
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    claims = rp.verify_id_token(body["id_token"], jwks)
    assert claims["aud"] == rp.client_id  # a string, not a list
    assert claims["vot"] == "Cl.Cm"
    assert claims["vtm"] == identity_rig.issuer + "trustmark"
    assert claims["sub"].startswith("urn:fdc:gov.uk:2022:")
    assert len(claims["sub"]) == len("urn:fdc:gov.uk:2022:") + 43
    assert claims["sid"]
    assert abs(claims["auth_time"] - started) < 60
    assert claims["exp"] - claims["iat"] == 120
    assert "email" not in claims  # UserInfo claims never go into the ID token
    info = httpx.get(
        identity_rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": claims["sub"], "email": person.email, "email_verified": True}


def test_an_rs256_client_gets_id_tokens_signed_with_the_rsa_key(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    """Spec §6.1, conformance `oidcc-id-token-signature`: a client registered with `IdTokenSigningAlgorithm: RS256`
    gets ID tokens signed by the RSA set's active key, which its PyJWT verifies against the JWKS; an ES256 client of
    the same person still gets ES256; the RS256 token works as an `id_token_hint` at `/logout`."""
    rsa_rp = RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", identity_rig.issuer, id_token_alg="RS256")
    identity_rig.register(rsa_rp)
    tokens = exchange(identity_rig, rsa_rp, signed_in_code(browser, rsa_rp, person)["code"])
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]
    published = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(id_token)
    assert header == {"alg": "RS256", "kid": header["kid"], "typ": "JWT"}
    key = next(k for k in published["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    claims = jwt.decode(
        id_token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=rsa_rp.client_id, issuer=identity_rig.issuer
    )
    assert claims["nonce"] == rsa_rp.nonce and claims["vot"] == "Cl.Cm" and claims["sub"]
    assert rsa_rp.verify_id_token(id_token, published)["aud"] == rsa_rp.client_id  # the RP helper's checks too

    ec_rp = identity_rig.rp()  # single sign-on: no page this time
    ec_token = exchange(identity_rig, ec_rp, signed_in_code(browser, ec_rp, person)["code"]).json()["id_token"]
    assert jwt.get_unverified_header(ec_token)["alg"] == "ES256"
    assert ec_rp.verify_id_token(ec_token, published)["aud"] == ec_rp.client_id

    signed_out = browser.get(
        "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": "https://rp.example.test/signed-out"}
    )
    assert signed_out.status_code == 302 and signed_out.headers["location"] == "https://rp.example.test/signed-out"


def test_a_reused_code_is_refused_and_revokes_its_tokens(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    first = exchange(identity_rig, rp, code)
    assert first.status_code == 200, first.text
    access = first.json()["access_token"]
    userinfo = identity_rig.gateway_url + "/userinfo"
    assert httpx.get(userinfo, headers={"Authorization": f"Bearer {access}"}).status_code == 200
    again = exchange(identity_rig, rp, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    revoked = httpx.get(userinfo, headers={"Authorization": f"Bearer {access}"})
    assert revoked.status_code == 401
    documented = identity_rig.issuer + "identity/documentation#invalid_token"
    assert revoked.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="The access token is not valid", error_uri="{documented}"'
    )  # RFC 6750 §3
    assert revoked.json() == {
        "error": "invalid_token",
        "error_description": "The access token is not valid",
        "error_uri": documented,
    }


def test_pkce_and_redirect_uri_are_checked_at_the_token_endpoint(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    wrong = exchange(identity_rig, rp, code, code_verifier="x" * 43)
    assert wrong.json() == {
        "error": "invalid_grant",
        "error_description": "PKCE code verification failed",
        "error_uri": identity_rig.issuer + "identity/documentation#invalid_grant",
    }
    missing = exchange(identity_rig, rp, code, code_verifier=None)
    assert missing.json()["error"] == "invalid_grant"
    elsewhere = exchange(identity_rig, rp, code, redirect_uri="https://rp.example.test/other")
    assert elsewhere.json()["error"] == "invalid_grant"
    # None of the failures used the code up: the right request still works.
    assert exchange(identity_rig, rp, code).status_code == 200


def test_client_assertions(identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser) -> None:
    code = signed_in_code(browser, rp, person)["code"]

    def refused(assertion: str, error: str = "invalid_client") -> None:
        answer = exchange(identity_rig, rp, code, client_assertion=assertion)
        assert answer.status_code in (400, 401), answer.text
        assert answer.json()["error"] == error, answer.text

    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import ec

    now = int(time.time())
    unsigned = pyjwt.encode(
        {"iss": rp.client_id, "sub": rp.client_id, "aud": rp.issuer + "token", "exp": now + 60, "jti": "a"},
        None,
        algorithm="none",
    )
    refused(unsigned)
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": rp.issuer + "token", "exp": now + 60, "jti": "b"}
    refused(confused_token(claims, rp.key, rp.kid))
    refused(rp.assertion(key=ec.generate_private_key(ec.SECP256R1())))  # not the registered key
    refused(rp.assertion(aud="https://elsewhere.example/token"))
    refused(rp.assertion(iss="someone-else"))
    refused(rp.assertion(jti=None))
    refused(rp.assertion(exp=now + 7200))  # valid for too long
    refused(rp.assertion(exp=now - 120), "invalid_grant")  # One Login's "private_key_jwt has expired"
    replayed = rp.assertion()
    assert exchange(identity_rig, rp, code, client_assertion=replayed).status_code == 200
    code = signed_in_code(browser, rp, person)["code"]
    refused(replayed)


def test_both_audience_forms_and_assertions_without_kid(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    code = signed_in_code(browser, rp, person)["code"]
    assert exchange(identity_rig, rp, code, client_assertion=rp.assertion(aud=rp.issuer)).status_code == 200
    rp.kid = ""
    code = signed_in_code(browser, rp, person)["code"]
    answer = exchange(identity_rig, rp, code, client_assertion=rp.assertion(aud=[rp.issuer + "token"]))
    assert answer.status_code == 200, answer.text


def test_token_request_errors(identity_rig: IdentityRig, rp: RelyingParty) -> None:
    url = identity_rig.gateway_url + "/token"
    wrong_type = httpx.post(url, json={"grant_type": "authorization_code"})
    assert wrong_type.json()["error"] == "invalid_request"
    repeated = httpx.post(
        url, content="grant_type=authorization_code&code=a&code=b", headers={"Content-Type": FORM_TYPE}
    )
    assert repeated.json()["error"] == "invalid_request"
    grant = httpx.post(url, data={**rp_form(rp), "grant_type": "password"})
    assert grant.json()["error"] == "unsupported_grant_type"
    unknown = httpx.post(url, data={**rp_form(rp), "code": "no-such-code"})
    assert unknown.json()["error"] == "invalid_grant"
    for answer in (wrong_type, repeated, grant, unknown):  # each links its entry on the documentation page (R5)
        body = answer.json()
        assert body["error_uri"] == identity_rig.issuer + "identity/documentation#" + body["error"]


FORM_TYPE = "application/x-www-form-urlencoded"


def rp_form(rp: RelyingParty) -> dict[str, str]:
    rp.verifier = "v" * 43
    return rp.token_form("unused")


def test_pairwise_subjects_differ_across_sectors_and_stay_stable(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    first = identity_rig.rp()
    other = identity_rig.rp(RedirectUrls=["https://other-sector.example.test/callback"])
    other.redirect_uri = "https://other-sector.example.test/callback"

    def sub_at(rp: RelyingParty) -> str:
        tokens = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).json()
        return str(rp.verify_id_token(tokens["id_token"], jwks(identity_rig))["sub"])

    a = sub_at(first)
    assert sub_at(first) == a  # single sign-on: the second request needs no page, and the sub is the same
    assert sub_at(other) != a
    public_1 = identity_rig.rp(SubjectType="public")
    public_2 = identity_rig.rp(SubjectType="public", RedirectUrls=["https://x.example.test/cb"])
    public_2.redirect_uri = "https://x.example.test/cb"
    assert sub_at(public_1) == sub_at(public_2)


def jwks(rig: IdentityRig) -> dict[str, object]:
    return dict(httpx.get(rig.gateway_url + "/.well-known/jwks.json").json())


def test_userinfo_needs_a_bearer_token(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    url = identity_rig.gateway_url + "/userinfo"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    code = signed_in_code(browser, rp, person, scope="openid")["code"]
    access = exchange(identity_rig, rp, code).json()["access_token"]
    assert httpx.get(url, params={"access_token": access}).status_code == 401  # never from the query string
    posted = httpx.post(url, data={"access_token": access})
    assert posted.status_code == 200
    assert set(posted.json()) == {"sub"}  # no email scope, no email
