"""The OAuth and OpenID Connect errors identity answers, explained once for relying-party developers (spec R5).

`ERRORS` is the one table: the documentation page (`/identity/documentation`, `oidc/documentation.py`) renders an
entry with the code as its anchor for each, and every error answer carries `error_uri` = that page's absolute URL
and `#code`. So an `error_uri` always lands on an entry that exists, and a test reads identity's code for every
error it can emit and checks each one is here.

`error_description` stays exactly as it was (One Login's strings, spec §5.4, §6): `error_uri` is added beside it.
The texts are message ids (`N_`), shown in English or Welsh on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gaap.errors import ApiError, Fault, OAuthFamily
from services.identity.i18n import N_

#: Where the page is served, under the issuer (an origin ending in `/`), so `{issuer}{DOCUMENTATION_PATH}`.
DOCUMENTATION_PATH = "identity/documentation"

#: How an error reaches the relying party.
REDIRECT = "redirect"
PAGE = "page"
TOKEN = "token"
USERINFO = "userinfo"
ANY_JSON = "json"
CHANNELS = {
    REDIRECT: N_("/authorize: a redirect to your redirect_uri, with error, error_description, error_uri and state"),
    PAGE: N_("/authorize: the error page shown to the user, which never redirects"),
    TOKEN: N_("/token: a JSON body"),
    USERINFO: N_("/userinfo: a JSON body, and the same values in the WWW-Authenticate header"),
    ANY_JSON: N_("Any JSON endpoint: /token, /userinfo, discovery, the JWKS, the trust mark, the vocabulary"),
}


@dataclass(frozen=True)
class ErrorDoc:
    code: str
    channels: tuple[str, ...]
    meaning: str
    action: str


_ENTRIES = (
    ErrorDoc(
        "invalid_request",
        (PAGE, REDIRECT, TOKEN, ANY_JSON),
        N_(
            "A parameter is missing, repeated or not valid: for example no state or nonce, a vtr that is not valid "
            "or not permitted for your client, a PKCE challenge that is not S256, or a token request that is not "
            "form-encoded. On the error page, the client_id or redirect_uri could not be trusted, so the user was "
            "not sent back to your service."
        ),
        N_("Read error_description, which says what was wrong, and correct the request before sending it again."),
    ),
    ErrorDoc(
        "invalid_request_object",
        (PAGE,),
        N_(
            "The signed request object (the request parameter) could not be accepted: its signature, alg, iss, aud "
            "or exp is wrong, or it was signed with a key that is not registered for your client."
        ),
        N_(
            "Sign it with a registered key and an algorithm from request_object_signing_alg_values_supported, with "
            "iss set to your client_id and aud set to the issuer or its authorize URL."
        ),
    ),
    ErrorDoc(
        "request_uri_not_supported",
        (REDIRECT,),
        N_("The request carried request_uri. Request objects are only accepted by value."),
        N_("Send the signed request object in the request parameter instead."),
    ),
    ErrorDoc(
        "unauthorized_client",
        (REDIRECT, TOKEN),
        N_(
            "At /authorize, your client has been deactivated. At /token, your client may not use the grant type "
            "it asked for."
        ),
        N_("Ask your service's team to check the client in the console: it must be active, with a code flow."),
    ),
    ErrorDoc(
        "unsupported_response_type",
        (REDIRECT,),
        N_("The response_type was not code."),
        N_("Use the authorization code flow: response_type=code."),
    ),
    ErrorDoc(
        "invalid_scope",
        (REDIRECT,),
        N_("The scope lacks openid, or holds a scope that is unknown or not registered for your client."),
        N_("Ask for openid and only the scopes your client is registered for (see scopes_supported in discovery)."),
    ),
    ErrorDoc(
        "unmet_authentication_requirements",
        (REDIRECT,),
        N_("The request asked for prompt=select_account, which this service does not support."),
        N_("Leave select_account out of prompt."),
    ),
    ErrorDoc(
        "login_required",
        (REDIRECT,),
        N_(
            "With prompt=none, the user would have had to sign in. Or a re-authentication (prompt=login with "
            "id_token_hint) ended: someone else signed in, or sign-in failed too many times, and the session ended."
        ),
        N_(
            "Send the user again without prompt=none so that they can sign in. After a failed re-authentication, "
            "sign the user out of your service too."
        ),
    ),
    ErrorDoc(
        "interaction_required",
        (REDIRECT,),
        N_("With prompt=none, the user would have had to prove their identity to reach the level you asked for."),
        N_("Send the user again without prompt=none so that they can prove their identity."),
    ),
    ErrorDoc(
        "access_denied",
        (REDIRECT,),
        N_("The user did not prove their identity to the level your service asked for."),
        N_(
            "Tell the user, and offer another way to use your service. To learn why instead, register and ask "
            "for the returnCode claim: the journey then ends with a code (see the vocabulary below)."
        ),
    ),
    ErrorDoc(
        "temporarily_unavailable",
        (REDIRECT, TOKEN, USERINFO, ANY_JSON),
        N_(
            "The service cannot answer now: too many requests (HTTP 429 with Retry-After), identity checks that "
            "are unavailable, or a part of the service that is briefly away (HTTP 503). Nothing was changed."
        ),
        N_(
            "Try again later, after the number of seconds in Retry-After when the answer has one. At /authorize, "
            "let the user start again from your service."
        ),
    ),
    ErrorDoc(
        "server_error",
        (TOKEN, USERINFO, ANY_JSON),
        N_("Something went wrong in this service that it did not expect."),
        N_(
            "Try once more. If it happens again, contact the service's support team and quote the X-Request-ID "
            "header of the answer."
        ),
    ),
    ErrorDoc(
        "invalid_client",
        (TOKEN, ANY_JSON),
        N_(
            "Your client could not be authenticated: an unknown client_id, a client assertion whose signature, "
            "iss, sub or aud is wrong or whose jti was used before, a wrong client secret, or a method other than "
            "the one your client is registered with. HTTP Basic authentication gets a 401."
        ),
        N_(
            "Authenticate with the method your client is registered with, and give every client assertion a new "
            "jti and a short expiry."
        ),
    ),
    ErrorDoc(
        "invalid_grant",
        (TOKEN,),
        N_(
            "The authorization code is unknown, expired, already used, or was issued to another client or for "
            "another redirect_uri; or the code_verifier does not match the PKCE challenge; or the client "
            "assertion has expired."
        ),
        N_(
            "Redeem each code once, as soon as the user comes back, with the same redirect_uri and the "
            "code_verifier for its challenge. A code used twice revokes the tokens it gave: start the sign-in "
            "again."
        ),
    ),
    ErrorDoc(
        "unsupported_grant_type",
        (TOKEN,),
        N_("The grant_type was not authorization_code."),
        N_("Use grant_type=authorization_code. This service issues no refresh tokens."),
    ),
    ErrorDoc(
        "invalid_token",
        (USERINFO,),
        N_(
            "The access token is unknown, has expired, or was revoked. A request with no access token at all gets "
            "a 401 with WWW-Authenticate: Bearer and no error code."
        ),
        N_(
            "Call /userinfo as soon as you have the token, in the Authorization header. For a new access token, "
            "sign the user in again."
        ),
    ),
    ErrorDoc(
        "not_found",
        (ANY_JSON,),
        N_("There is nothing at this path."),
        N_("Use the endpoints in the discovery document, /.well-known/openid-configuration."),
    ),
)
ERRORS: dict[str, ErrorDoc] = {entry.code: entry for entry in _ENTRIES}


def documentation_url(issuer: str) -> str:
    """The page's absolute URL (the default `service_documentation`)."""
    return issuer + DOCUMENTATION_PATH


def error_uri(issuer: str, code: str) -> str:
    """The `error_uri` of an error: its entry on the documentation page."""
    return f"{documentation_url(issuer)}#{code}"


def with_error_uri(issuer: str, body: dict[str, Any]) -> dict[str, Any]:
    """An RFC 6749 error body with the `error_uri` of its code, when the page explains that code."""
    code = body.get("error")
    if isinstance(code, str) and code in ERRORS:
        return {**body, "error_uri": error_uri(issuer, code)}
    return body


class DocumentedOAuthFamily(OAuthFamily):
    """The kernel's RFC 6749 family (`server_error`, `temporarily_unavailable`, `not_found`, ...) with `error_uri`.

    `issuer` is read at each answer rather than kept, since the issuer is configuration that tests may set after
    the app is built."""

    def __init__(self, issuer: Callable[[], str]) -> None:
        self.issuer = issuer

    def body(self, error: ApiError, request_id: str) -> Any:
        return with_error_uri(self.issuer(), super().body(error, request_id))

    def fault_body(self, fault: Fault, status: int, request_id: str, detail: str | None) -> Any:
        return with_error_uri(self.issuer(), super().fault_body(fault, status, request_id, detail))
