"""The OpenID provider on Authlib: the code grant, ID tokens, S256 PKCE and client authentication by
`private_key_jwt`, `client_secret_post` or `client_secret_basic`, whichever one the client is registered with
(spec §6, §12).

Authlib is synchronous. Its hooks here never wait on I/O: they read the `Exchange` that the endpoint loaded
beforehand and record what must be written, and the endpoint applies those writes after Authlib has answered. So the
calls run on the event loop directly: the work inside is one ES256 signature or verification (~0.1 ms), less than a
thread-pool hop would cost; an RS256 client's ID token is a 3072-bit RSA signature (1–1.5 ms on the test machine),
still one operation per request. `query_client` has no request argument in Authlib, so the exchange of the call in
progress is found through a context variable.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.authenticate_client import (
    authenticate_client_secret_basic,
    authenticate_client_secret_post,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet

from services.identity.clients.registry import RegisteredClient
from services.identity.clients.secret import SECRET_METHODS
from services.identity.keys.models import ID_TOKEN_SETS
from services.identity.keys.ring import SigningKeyPair
from services.identity.oidc.authorize import pkce_error
from services.identity.oidc.errors import ERRORS, error_uri
from services.identity.oidc.requests import AuthlibAnswer, Exchange, OidcRequest
from services.identity.oidc.signed import decode_with, header_of

#: A client assertion may be valid for at most this long, which bounds the `jti` replay store.
MAX_ASSERTION_LIFETIME = 3600

_exchange: ContextVar[Exchange] = ContextVar("identity_exchange")


@contextmanager
def bound(exchange: Exchange) -> Iterator[None]:
    token = _exchange.set(exchange)
    try:
        yield
    finally:
        _exchange.reset(token)


def _current(request: Any = None) -> Exchange:
    found = getattr(request, "exchange", None)
    return found if isinstance(found, Exchange) else _exchange.get()


class IssuedCode:
    """A stored authorization code as Authlib reads it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.code_challenge = data.get("code_challenge")
        self.code_challenge_method = "S256" if self.code_challenge else None

    def get_redirect_uri(self) -> str:
        return str(self.data["redirect_uri"])

    def get_scope(self) -> str:
        return str(self.data["scope"])

    def get_nonce(self) -> str | None:
        return self.data.get("nonce")

    def get_auth_time(self) -> int:
        return int(self.data["auth_time"])

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_post", "client_secret_basic"]
    AUTHORIZATION_CODE_LENGTH = 48

    def authenticate_token_endpoint_client(self) -> RegisteredClient:
        """Authenticate with the one method the request uses (`/token` found it), and only if it is the client's.

        Authlib would try each method in turn and answer a failure with 401 whenever `client_secret_basic` is among
        them; RFC 6749 §5.2 keeps 401 (with `WWW-Authenticate: Basic`) for requests that sent HTTP Basic."""
        request: OidcRequest = self.request
        method = request.exchange.auth_method
        if method is None:
            raise InvalidClientError(description="The request has no client authentication")
        status = 401 if method == "client_secret_basic" else 400
        known = request.exchange.client
        if known is not None and known.token_auth_method != method:
            raise InvalidClientError(
                status_code=status,
                description=f"The client is registered to authenticate with {known.token_auth_method}, not {method}",
            )
        if known is not None and method in SECRET_METHODS and known.client_secret_hash is None:
            raise InvalidClientError(status_code=status, description="The client has no client secret yet")
        client: RegisteredClient = self.server.authenticate_client(request, [method])
        form_client = request.form.get("client_id")
        if form_client is not None and form_client != client.client_id:
            raise InvalidClientError(
                status_code=status, description="client_id does not match the client's credentials"
            )
        self.server.send_signal("after_authenticate_client", client=client, grant=self)
        return client

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> tuple[int, str, list[Any]]:
        """Authlib's response, with `response_mode=fragment` honoured (Authlib's code grant always uses the query)."""
        status, body, headers = super().create_authorization_response(redirect_uri, grant_user)
        if self.request.payload.data.get("response_mode") == "fragment":
            params = [("code", self.request.exchange.issued_code[0]), ("state", self.request.payload.state)]
            headers = [("Location", add_params_to_uri(redirect_uri, params, fragment=True))]
        return status, body, headers

    def save_authorization_code(self, code: str, request: OidcRequest) -> None:
        exchange = request.exchange
        data = request.payload.data
        assert exchange.user is not None
        exchange.issued_code = (
            code,
            {
                **exchange.user,
                "client_id": request.client.get_client_id(),
                "redirect_uri": data["redirect_uri"],
                "scope": request.scope,
                "nonce": data.get("nonce"),
                "code_challenge": data.get("code_challenge"),
            },
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> IssuedCode | None:
        data = _current(self.request).code_data
        if data is None or data.get("client_id") != client.client_id:
            return None
        return IssuedCode(data)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing to do here: the endpoint claims the code in Redis once Authlib has accepted the request."""

    def authenticate_user(self, authorization_code: IssuedCode) -> dict[str, Any]:
        return authorization_code.data


def _id_token_signer(client: RegisteredClient) -> SigningKeyPair:
    """The active key of the set for the client's `IdTokenSigningAlgorithm` (registration admits only those)."""
    return _current().keys.signer(ID_TOKEN_SETS[client.id_token_signed_response_alg])


class IdToken(OpenIDCode):
    """ID tokens (spec §6.1): ES256 (or RS256, as the client is registered) with `kid`, a string `aud`, and only
    `sub`, `vot`, `vtm` and `sid` merged in."""

    def __init__(self, ttl: int) -> None:
        super().__init__(require_nonce=True)
        self.ttl = ttl

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        if grant.request.client.permit_missing_nonce and not grant.request.payload.data.get("nonce"):
            return
        super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False

    def resolve_client_private_key(self, client: RegisteredClient) -> Any:
        return _id_token_signer(client).private

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return _id_token_signer(client).alg

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        signer = _id_token_signer(client)
        return {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": _current().issuer, "aud": client.client_id, "iat": now, "exp": now + self.ttl}

    def generate_user_info(self, user: dict[str, Any], scope: str) -> dict[str, Any]:
        return {"sub": user["sub"], "vot": user["vot"], "vtm": _current().issuer + "trustmark", "sid": user["sid"]}


class S256Challenge(CodeChallenge):
    """PKCE with S256 only. Authlib's default treats a missing method as `plain`; the rule here is the one that
    `/authorize` applies (`pkce_error`), and every verifier failure is One Login's `invalid_grant`."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        problem = pkce_error(grant.request.payload.data, grant.request.client)
        if problem:
            raise InvalidRequestError(problem, redirect_uri=redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        try:
            super().validate_code_verifier(grant, result)
        except (InvalidRequestError, InvalidGrantError):
            raise InvalidGrantError("PKCE code verification failed") from None


class PrivateKeyJwt(JWTBearerClientAssertion):
    """`private_key_jwt` (spec §6): the explicit algorithm list, both `aud` forms, a required `jti` recorded for
    the single-use check, at most one hour of validity, and keys chosen by `kid` (or each fitting key without)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, leeway: int) -> None:
        super().__init__(leeway=leeway)

    def get_audiences(self) -> list[str]:
        issuer = _current().issuer
        return [issuer + "token", issuer]

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        return _current().client_keys or KeySet([])

    def __call__(self, query_client: Any, request: OidcRequest) -> RegisteredClient | None:
        client: RegisteredClient | None = super().__call__(query_client, request)
        form_client = request.form.get("client_id")
        if client is not None and form_client is not None and form_client != client.client_id:
            raise InvalidClientError(description="client_id does not match the client assertion")
        return client

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        header = header_of(assertion)
        if header is None:
            raise InvalidClientError(description="Invalid JWT assertion.")
        claims = decode_with(assertion, resolve_key, header)
        if claims is None:
            raise InvalidClientError(description="The client assertion signature could not be verified")
        self.verify_claims(claims)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp > now + MAX_ASSERTION_LIFETIME + self.leeway:
            raise InvalidClientError(description="The client assertion is valid for too long")
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, int | float) or iat > now + self.leeway):
            raise InvalidClientError(description="The client assertion was issued in the future")
        try:
            super().verify_claims(claims)
        except InvalidClientError as exc:
            if isinstance(exc.__cause__, ExpiredTokenError):
                raise InvalidGrantError("private_key_jwt has expired") from None
            raise

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        if not isinstance(jti, str) or not jti:
            return False
        _current().jti = (jti, int(claims["exp"]))
        return True


def _secret_method(builtin: Any, status: int) -> Any:
    """Authlib's `client_secret_post` or `client_secret_basic`, refusing a wrong secret in its own words (the
    built-in returns None, which Authlib reports as "cannot authenticate with methods: [...]")."""

    def authenticate(query_client: Any, request: OidcRequest) -> RegisteredClient:
        client: RegisteredClient | None = builtin(query_client, request)
        if client is None:
            raise InvalidClientError(status_code=status, description="The client secret is missing or not valid")
        return client

    return authenticate


class OidcServer(AuthorizationServer):
    def __init__(self, *, access_token_ttl: int, id_token_ttl: int, assertion_leeway: int) -> None:
        super().__init__(scopes_supported=["openid", "email", "phone"])
        self.register_token_generator(
            "default",
            BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32), expires_generator=access_token_ttl),
        )
        self.register_grant(CodeGrant, [IdToken(id_token_ttl), S256Challenge(required=False)])
        self.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(assertion_leeway))
        self.register_client_auth_method("client_secret_post", _secret_method(authenticate_client_secret_post, 400))
        self.register_client_auth_method("client_secret_basic", _secret_method(authenticate_client_secret_basic, 401))

    def query_client(self, client_id: str) -> RegisteredClient | None:
        client = _current().client
        return client if client is not None and client.client_id == client_id else None

    def save_token(self, token: dict[str, Any], request: OidcRequest) -> None:
        """Nothing to do here: the endpoint stores the access token after claiming the code."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Security events are recorded by the endpoints, which know the outcome."""

    def create_oauth2_request(self, request: OidcRequest) -> OidcRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> AuthlibAnswer:
        return AuthlibAnswer(status, body, dict(headers))

    def get_error_uri(self, request: OidcRequest, error: OAuth2Error) -> str | None:
        """The error's entry on identity's documentation page (spec R5), for every code the page explains."""
        return error_uri(_current(request).issuer, error.error) if error.error in ERRORS else None

    def handle_error_response(self, request: OidcRequest, error: OAuth2Error) -> AuthlibAnswer:
        """Authlib's, with `error_uri` also on errors it redirects (Authlib adds it only to JSON answers)."""
        error.uri = self.get_error_uri(request, error)
        answer: AuthlibAnswer = self.handle_response(*error(error.uri))
        return answer

    def issue_code(self, request: OidcRequest) -> AuthlibAnswer:
        """Issue a code for an already validated request and a signed-in user (`request.exchange.user`)."""
        with bound(request.exchange):
            grant = self.get_consent_grant(request, end_user=request.exchange.user)
            answer: AuthlibAnswer = self.create_authorization_response(
                request, grant_user=request.exchange.user, grant=grant
            )
        return answer

    def exchange_code(self, request: OidcRequest) -> AuthlibAnswer:
        with bound(request.exchange):
            answer: AuthlibAnswer = self.create_token_response(request)
        return answer
