"""The console as a relying party of the platform's identity service, written as any department's would be.

Code flow with PKCE (S256), `state` and `nonce`, `vtr=["Cl.Cm"]` (password and authenticator app), and
`private_key_jwt` with the key the gateway holds (`GATEWAY_CONSOLE_CLIENT_KEY`). The browser goes to identity's
public issuer; the back-channel calls (`/token`, `/userinfo`, the JWKS) go straight to identity's API process
(`GATEWAY_IDENTITY_URL`), as the gateway's own pushes do, rather than out and back in through the public port.
The PKCE pair, the client assertion and the ID token's checks are the SDK's (`gaap_client.identity`), so the
console checks exactly what a department's relying party does: signature against identity's JWKS (ES256 only),
`iss`, `aud`, `exp`, `iat`, `nonce` and `vot`; the email comes from `/userinfo` and must be verified.

The client is registered in identity like every other: `client_record` is what `gaap up` stores on the platform
organisation's "GaaP console" service (`settings["identity"]["clients"]`), which the gateway pushes to identity.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import jwt
import structlog
from gaap_client.identity import (
    ASSERTION_TYPE,
    SignInError,
    client_assertion,
    id_token_key_id,
    key_in,
    new_pkce,
    signing_key,
    verify_id_token,
)

from gaap.pages import PageError
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.console")

CALLBACK_PATH = "/console/sign-in/callback"
SIGNED_OUT_PATH = "/console/signed-out"
LEVEL = "Cl.Cm"
TIMEOUT = aiohttp.ClientTimeout(total=10.0)


class SignInFailed(PageError):
    """Identity's answer could not be trusted or used: the admin is asked to start again."""

    status_code = 400
    code = "ConsoleSignInFailed"


class IdentityUnavailable(PageError):
    status_code = 503
    code = "IdentityUnavailable"


@dataclass(frozen=True)
class SignedIn:
    email: str
    sub: str
    id_token: str


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str


def _private_jwk(settings: GatewaySettings) -> dict[str, Any] | None:
    raw = settings.console_client_key.get_secret_value()
    return dict(json.loads(raw)) if raw else None


def client_record(settings: GatewaySettings) -> dict[str, Any]:
    """The console's client in One Login's field names (only the public half of its key)."""
    jwk = _private_jwk(settings)
    if jwk is None:
        raise ValueError("GATEWAY_CONSOLE_CLIENT_KEY is not set")
    origin = settings.console_origin
    return {
        "ClientID": settings.console_client_id,
        "ClientName": "GaaP console",
        "RedirectUrls": [origin + CALLBACK_PATH],
        "PostLogoutRedirectUrls": [origin + SIGNED_OUT_PATH],
        "Scopes": ["openid", "email"],
        "ClientLoCs": ["P0"],
        "PublicKeySource": "STATIC",
        "PublicKey": {name: value for name, value in jwk.items() if name != "d"},
        "SubjectType": "public",
        "PKCEEnforced": True,
    }


def form_targets(settings: GatewaySettings) -> tuple[str, ...]:
    """Where console forms may lead (CSP `form-action`): the console itself, and identity's origin when it is
    another, since signing out posts a form whose redirect goes on to identity's `/logout`."""
    issuer = urlsplit(settings.identity_issuer)
    if f"{issuer.scheme}://{issuer.netloc}" == settings.console_origin:
        return ("'self'",)
    return ("'self'", f"{issuer.scheme}://{issuer.netloc}")


class ConsoleRelyingParty:
    """Builds authorization requests and turns identity's answer into a `SignedIn`. Reads its settings at each
    sign-in (they are attributes, not parsed again), so one instance serves the process."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        jwk = _private_jwk(settings)
        self.key = signing_key(jwk) if jwk else None

    @property
    def configured(self) -> bool:
        return self.key is not None

    @property
    def redirect_uri(self) -> str:
        return self.settings.console_origin + CALLBACK_PATH

    def authorization_request(self, *, lang: str) -> AuthorizationRequest:
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, challenge = new_pkce()
        params = {
            "response_type": "code",
            "client_id": self.settings.console_client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "vtr": json.dumps([LEVEL]),
            "ui_locales": lang,
        }
        return AuthorizationRequest(
            f"{self.settings.identity_issuer}authorize?{urlencode(params)}", state, nonce, verifier
        )

    def logout_url(self, id_token: str) -> str:
        params = {"id_token_hint": id_token, "post_logout_redirect_uri": self.settings.console_origin + SIGNED_OUT_PATH}
        return f"{self.settings.identity_issuer}logout?{urlencode(params)}"

    async def _call(self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.settings.identity_url.rstrip("/") + path
        try:
            async with session.request(method, url, timeout=TIMEOUT, **kwargs) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("identity did not answer the console", path=path, error=type(exc).__name__)
            raise IdentityUnavailable() from exc
        if status != 200 or not isinstance(body, dict):
            log.warning("identity refused the console", path=path, status=status, **_error_of(body))
            raise SignInFailed()
        return body

    async def complete(self, session: aiohttp.ClientSession, *, code: str, verifier: str, nonce: str) -> SignedIn:
        """Exchange the code, check the ID token and read the verified email address."""
        assert self.key is not None, "sign-in is offered only when the console's client key is set"
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.key, self.settings.console_client_id, self._token_endpoint),
        }
        # The forwarding session sends no automatic headers (it passes the client's), so the form says its type.
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        tokens = await self._call(session, "POST", "/token", data=urlencode(form), headers=form_type)
        jwks = await self._call(session, "GET", "/.well-known/jwks.json")
        claims = self.verify_id_token(str(tokens.get("id_token", "")), jwks, nonce=nonce)
        headers = {"Authorization": f"Bearer {tokens.get('access_token', '')}"}
        info = await self._call(session, "GET", "/userinfo", headers=headers)
        email = info.get("email")
        if info.get("sub") != claims["sub"] or not isinstance(email, str) or info.get("email_verified") is not True:
            log.warning("userinfo does not give the console a verified email for the subject")
            raise SignInFailed()
        return SignedIn(email.strip().lower(), str(claims["sub"]), str(tokens["id_token"]))

    @property
    def _token_endpoint(self) -> str:
        return self.settings.identity_issuer + "token"

    def verify_id_token(self, token: str, jwks: dict[str, Any], *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature and every claim the console relies on are checked."""
        try:
            key = key_in(jwks, id_token_key_id(token))
            if key is None:
                raise SignInError("invalid_token", "identity publishes no such key")
            return verify_id_token(
                token,
                key,
                issuer=self.settings.identity_issuer,
                client_id=self.settings.console_client_id,
                nonce=nonce,
                levels=(LEVEL,),
            )
        except (SignInError, jwt.PyJWTError) as exc:
            log.warning("the console refused an ID token", error=type(exc).__name__, detail=str(exc))
            raise SignInFailed() from exc


def _error_of(body: object) -> dict[str, str]:
    """The OAuth error and its description, for the log (they name what was wrong, never a secret)."""
    if not isinstance(body, dict):
        return {}
    return {"error": str(body.get("error", "")), "description": str(body.get("error_description", ""))[:200]}
