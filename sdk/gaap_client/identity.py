"""Signing people in with GaaP identity (OpenID Connect, as GOV.UK One Login): `IdentityClient` and
`AsyncIdentityClient`, a relying party's side of the code flow.

    request = identity.authorization_request(vtr="Cl.Cm")      # keep it in the user's session
    redirect(request.url)
    ...                                                        # the user signs in, and comes back to redirect_uri
    signed_in = identity.finish_sign_in(callback_url, request)  # the validated ID token's claims, and the tokens

Every request has `state`, `nonce` and a PKCE S256 challenge; the code is exchanged with `private_key_jwt` (an ES256
client assertion signed with the client's private key, never a secret); the ID token's signature is checked against
the issuer's JWKS (fetched again when it names a key not seen yet, so key rotation needs nothing from you) with the
key its `kid` names and only that key's algorithm (ES256 or RS256, as the client is registered), and its `iss`,
`aud`, expiry, `nonce` and the level (`vot`) asked for. The code exchange is never retried once it may have
arrived: a code works once, and using it twice revokes what it gave.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from gaap_client._core import AsyncClient, AsyncTransport, Call, SyncClient, SyncTransport, flow, read_json
from gaap_client.errors import GaapError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Seconds of clock difference allowed when checking the ID token's times.
LEEWAY_SECONDS = 60
#: How long a client assertion is valid for.
ASSERTION_LIFETIME_SECONDS = 300
#: The algorithms identity signs ID tokens with: ES256 (the default) or RS256 (`IdTokenSigningAlgorithm`).
ID_TOKEN_ALGORITHMS = ("ES256", "RS256")


class SignInError(GaapError):
    """The sign-in did not complete: the provider answered with an error (`error`, e.g. `access_denied`), the
    callback does not belong to this request, or the tokens are not valid. Start a new sign-in."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what to check when they come back: keep it in their session."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    #: The levels asked for, e.g. `["Cl.Cm"]`: the ID token's `vot` must be one of them.
    vtr: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignedIn:
    claims: dict[str, Any]
    id_token: str
    access_token: str


class NoAuth:
    """The identity endpoints a relying party calls authenticate it in the request itself."""

    def headers(self) -> dict[str, str]:
        return {}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# The relying party's checks, also usable on their own by a relying party that makes its own HTTP calls (the
# platform's console calls identity's API process directly, but checks what it gets with these).


def new_pkce() -> tuple[str, str]:
    """A fresh PKCE code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def signing_key(private_key_jwk: Mapping[str, Any] | str) -> jwt.PyJWK:
    """The client's ES256 signing key from its private JWK (a mapping or its JSON text)."""
    jwk = json.loads(private_key_jwk) if isinstance(private_key_jwk, str) else dict(private_key_jwk)
    return jwt.PyJWK(jwk, algorithm="ES256")


def client_assertion(key: jwt.PyJWK, client_id: str, token_endpoint: str) -> str:
    """A `private_key_jwt` client assertion for one use at `token_endpoint` (a fresh `jti`, five minutes to live)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    headers = {"kid": key.key_id} if key.key_id else None
    return jwt.encode(claims, key.key, algorithm="ES256", headers=headers)


def id_token_key_id(id_token: str) -> str:
    """The `kid` the ID token says it is signed with (not yet verified: look it up in the issuer's JWKS)."""
    try:
        return str(jwt.get_unverified_header(id_token).get("kid"))
    except jwt.PyJWTError as exc:
        raise SignInError("invalid_token", str(exc)) from exc


def key_in(jwks: Mapping[str, Any], kid: str) -> jwt.PyJWK | None:
    """The public key `kid` of a JWKS, bound to its algorithm (the JWK's `alg`, else the one its type implies), or
    None when it publishes no such key. `verify_id_token` then accepts a token only in that key's algorithm."""
    found = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
    if not found:
        return None
    try:
        key = jwt.PyJWK(found[0])
    except jwt.PyJWTError as exc:
        raise SignInError("invalid_token", f"the issuer's key {kid!r} cannot be read: {exc}") from exc
    if key.algorithm_name not in ID_TOKEN_ALGORITHMS:
        allowed = " or ".join(ID_TOKEN_ALGORITHMS)
        raise SignInError("invalid_token", f"the issuer's key {kid!r} is for {key.algorithm_name}, not {allowed}")
    return key


def verify_id_token(
    id_token: str, key: Any, *, issuer: str, client_id: str, nonce: str, levels: Sequence[str] = ()
) -> dict[str, Any]:
    """The ID token's claims once its signature (ES256 or RS256, with the issuer's `key`: from `key_in`, which binds
    it to its algorithm), `iss`, `aud`, `sub`, times, `nonce` and level (`vot`, one of `levels` when given) are
    checked; `SignInError` otherwise."""
    algorithms = list(ID_TOKEN_ALGORITHMS)
    if isinstance(key, jwt.PyJWK):
        # Only the key's own algorithm: older PyJWT releases do not bind a PyJWK to it by themselves.
        algorithms, key = [key.algorithm_name], key.key
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=algorithms,
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "sub", "exp", "iat"]},
        )
    except (jwt.PyJWTError, TypeError) as exc:  # TypeError: a bare key of another type than the token's algorithm
        raise SignInError("invalid_token", str(exc)) from exc
    if claims.get("nonce") != nonce:
        raise SignInError("invalid_token", "the ID token's nonce is not this request's")
    if levels and claims.get("vot") not in levels:
        raise SignInError("invalid_token", f"signed in at {claims.get('vot')!r}, not {' or '.join(levels)}")
    return claims


class _Identity:
    """What both clients share: the client's registration, and the issuer's metadata and keys once fetched."""

    def __init__(
        self, issuer: str, client_id: str, private_key_jwk: Mapping[str, Any] | str, redirect_uri: str
    ) -> None:
        self.issuer = issuer if issuer.endswith("/") else issuer + "/"
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._key = signing_key(private_key_jwk)
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None

    def _discover(self) -> Generator[Call[Any], Any, dict[str, Any]]:
        if self._metadata is None:
            metadata = yield Call("GET", self.issuer + ".well-known/openid-configuration", read_json)
            if metadata.get("issuer") != self.issuer:
                raise SignInError("invalid_issuer", f"the discovery document names {metadata.get('issuer')!r}")
            self._metadata = metadata
        return self._metadata

    def _signing_key(self, kid: str) -> Generator[Call[Any], Any, jwt.PyJWK]:
        for fetch in (self._jwks is None, True):
            if fetch:
                metadata = yield from self._discover()
                self._jwks = yield Call("GET", metadata["jwks_uri"], read_json)
            key = key_in(self._jwks or {}, kid)
            if key is not None:
                return key
        raise SignInError("invalid_token", f"the issuer publishes no key {kid!r}")

    def _authorization_request(
        self,
        *,
        scope: str = "openid email",
        vtr: str | list[str] | None = "Cl.Cm",
        ui_locales: str | None = None,
        prompt: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> Generator[Call[Any], Any, AuthorizationRequest]:
        """The URL to send the user to, with a fresh `state`, `nonce` and PKCE verifier. `vtr` is the level:
        `Cl` (password), `Cl.Cm` (and a second factor, the default), `P1`/`P2` (identity proving)."""
        metadata = yield from self._discover()
        levels = tuple([vtr] if isinstance(vtr, str) else vtr or ())
        verifier, challenge = new_pkce()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if levels:
            params["vtr"] = json.dumps(list(levels))
        if ui_locales:
            params["ui_locales"] = ui_locales
        if prompt:
            params["prompt"] = prompt
        if claims:
            params["claims"] = json.dumps(claims)
        url = f"{metadata['authorization_endpoint']}?{urlencode(params)}"
        return AuthorizationRequest(url, state, nonce, verifier, levels)

    def _finish_sign_in(self, callback_url: str, request: AuthorizationRequest) -> Generator[Call[Any], Any, SignedIn]:
        """Exchange the code the user came back with for tokens, and return the validated ID token's claims."""
        query = urlsplit(callback_url)
        answer = {k: v[0] for k, v in parse_qs(query.query or query.fragment).items()}
        if answer.get("state") != request.state:
            raise SignInError("invalid_state", "the callback's state is not this request's")
        if "error" in answer:
            raise SignInError(answer["error"], answer.get("error_description", ""))
        if "code" not in answer:
            raise SignInError("invalid_request", "the callback has no code")
        metadata = yield from self._discover()
        endpoint = metadata["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": self.redirect_uri,
            "code_verifier": request.code_verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self._key, self.client_id, endpoint),
        }
        tokens = yield Call("POST", endpoint, read_json, form=form, idempotent_post=False)
        id_token = tokens["id_token"]
        key = yield from self._signing_key(id_token_key_id(id_token))
        claims = verify_id_token(
            id_token, key, issuer=self.issuer, client_id=self.client_id, nonce=request.nonce, levels=request.vtr
        )
        return SignedIn(claims, id_token, str(tokens["access_token"]))

    def _userinfo(self, access_token: str) -> Generator[Call[Any], Any, dict[str, Any]]:
        """What the user agreed to share (`/userinfo`), with the access token from `finish_sign_in`."""
        metadata = yield from self._discover()
        info: dict[str, Any] = yield Call(
            "GET", metadata["userinfo_endpoint"], read_json, headers={"Authorization": f"Bearer {access_token}"}
        )
        return info

    def _logout_url(
        self, id_token: str, *, post_logout_redirect_uri: str | None = None, state: str | None = None
    ) -> Generator[Call[Any], Any, str]:
        """Where to send the user to sign out of identity too (RP-initiated logout)."""
        metadata = yield from self._discover()
        params = {"id_token_hint": id_token}
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        if state:
            params["state"] = state
        return f"{metadata['end_session_endpoint']}?{urlencode(params)}"

    authorization_request = flow(_authorization_request)
    finish_sign_in = flow(_finish_sign_in)
    userinfo = flow(_userinfo)
    logout_url = flow(_logout_url)


class IdentityClient(_Identity, SyncClient):
    """`IdentityClient(issuer, client_id, private_key_jwk, redirect_uri)`: a relying party, synchronously."""

    def __init__(
        self, issuer: str, client_id: str, private_key_jwk: Mapping[str, Any] | str, redirect_uri: str, **options: Any
    ) -> None:
        _Identity.__init__(self, issuer, client_id, private_key_jwk, redirect_uri)
        SyncClient.__init__(self, SyncTransport(self.issuer, NoAuth(), **options))


class AsyncIdentityClient(_Identity, AsyncClient):
    """The same relying party for asyncio: `await identity.finish_sign_in(...)`."""

    def __init__(
        self, issuer: str, client_id: str, private_key_jwk: Mapping[str, Any] | str, redirect_uri: str, **options: Any
    ) -> None:
        _Identity.__init__(self, issuer, client_id, private_key_jwk, redirect_uri)
        AsyncClient.__init__(self, AsyncTransport(self.issuer, NoAuth(), **options))
