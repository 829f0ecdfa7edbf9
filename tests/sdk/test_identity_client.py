"""`IdentityClient` and `AsyncIdentityClient` as a relying party against the real identity behind the real gateway:
a person signs in through identity's pages (an httpx "browser" without JavaScript), and the SDK finishes the
sign-in, validates the ID token, reads /userinfo and builds the logout URL."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from gaap_client import APIError, AsyncIdentityClient, AuthorizationRequest, IdentityClient, SignInError
from joserfc.jwk import ECKey

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser

REDIRECT = "https://rp.example.test/callback"

pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)


def register(rig: IdentityRig, client_id: str, **overrides: Any) -> dict[str, Any]:
    """A client registered as a department registers one: its public key in the gateway, pushed to identity."""
    private = ECKey.generate_key("P-256").as_dict(private=True)
    public = ECKey.import_key(private).as_dict(private=False)
    record = {
        "ClientID": client_id,
        "RedirectUrls": [REDIRECT],
        "PostLogoutRedirectUrls": ["https://rp.example.test/signed-out"],
        "Scopes": ["openid", "email"],
        "PublicKey": public,
        "SubjectType": "public",
        **overrides,
    }
    assert rig.push([record], rig.new_service()) == {"delivered": 1}
    return private


def signs_in(rig: IdentityRig, request: AuthorizationRequest) -> str:
    """Follow the authorization URL as the person would, and return the URL identity sends them back to."""
    person = rig.person()
    browser = Browser(rig.gateway_url)
    try:
        path = urlsplit(request.url)
        browser.follow(browser.get(f"{path.path}?{path.query}"))
        back = browser.sign_in(person)
    finally:
        browser.close()
    location = back.headers["location"]
    assert location.startswith(REDIRECT), back.text[:300]
    return location


def test_a_sync_relying_party_signs_a_person_in(identity_rig: IdentityRig) -> None:
    """With RS256 ID tokens: the SDK verifies them with the JWKS's RSA key (the async test's client has ES256)."""
    key = register(identity_rig, "sdk-sync", IdTokenSigningAlgorithm="RS256")
    with IdentityClient(identity_rig.issuer, "sdk-sync", key, REDIRECT) as identity:
        request = identity.authorization_request(vtr="Cl.Cm")
        query = parse_qs(urlsplit(request.url).query)
        assert query["code_challenge_method"] == ["S256"] and json.loads(query["vtr"][0]) == ["Cl.Cm"]
        signed_in = identity.finish_sign_in(signs_in(identity_rig, request), request)
        assert signed_in.claims["vot"] == "Cl.Cm"
        assert signed_in.claims["aud"] == "sdk-sync"
        assert jwt.get_unverified_header(signed_in.id_token)["alg"] == "RS256"
        info = identity.userinfo(signed_in.access_token)
        assert info["sub"] == signed_in.claims["sub"] and "@" in info["email"]
        logout = identity.logout_url(signed_in.id_token, post_logout_redirect_uri="https://rp.example.test/signed-out")
        assert logout.startswith(identity_rig.issuer + "logout?id_token_hint=")


async def test_an_async_relying_party_and_what_it_refuses(identity_rig: IdentityRig) -> None:
    key = await asyncio.to_thread(register, identity_rig, "sdk-async")
    async with AsyncIdentityClient(identity_rig.issuer, "sdk-async", json.dumps(key), REDIRECT) as identity:
        request = await identity.authorization_request(vtr="Cl.Cm")
        callback = await asyncio.to_thread(signs_in, identity_rig, request)  # the rig's helpers run their own loop
        other = await identity.authorization_request(vtr="Cl.Cm")
        with pytest.raises(SignInError) as forged:  # a callback for another request (a CSRF attempt)
            await identity.finish_sign_in(callback, other)
        assert forged.value.error == "invalid_state"
        signed_in = await identity.finish_sign_in(callback, request)
        assert signed_in.claims["nonce"] == request.nonce
        assert jwt.get_unverified_header(signed_in.id_token)["alg"] == "ES256"
        with pytest.raises(APIError) as reused:  # a code works once (and is never retried by the client)
            await identity.finish_sign_in(callback, request)
        assert (reused.value.status_code, reused.value.code) == (400, "invalid_grant")
        denied = f"{REDIRECT}?error=access_denied&error_description=The+user+said+no&state={request.state}"
        with pytest.raises(SignInError) as refused:
            await identity.finish_sign_in(denied, request)
        assert refused.value.error == "access_denied"
