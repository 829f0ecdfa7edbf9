"""Validating an authorization request (spec §5.1, §5.4), in One Login's order.

Up to and including `response_mode`, a failure is answered with an HTML error page and never a redirect: until the
client and its `redirect_uri` are known to match, redirecting would make us an open redirector. Every later failure
redirects to the validated `redirect_uri` with `error`, `error_description` and `state`.

The result is an `AuthorizationRequest`: everything later steps need, small enough to keep in the browser session
while the user signs in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from services.identity.clients.registry import RegisteredClient
from services.identity.i18n import N_
from services.identity.oidc.request_object import MUST_MATCH, RequestObjectError
from services.identity.oidc.vtr import DEFAULT_VTR, Vector, lowest, parse_vtr

VOCAB = "https://vocab.account.gov.uk/v1/"
CLAIMS_SUPPORTED = (
    "sub",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    *(VOCAB + name for name in ("coreIdentityJWT", "address", "passport", "drivingPermit", "returnCode")),
)
SCOPES_SUPPORTED = ("openid", "email", "phone")
CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
#: Parameters that may appear once only; a repeat is `invalid_request` (spec §5.1).
SINGLE = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "vtr", "claims", "ui_locales",
    "response_mode", "code_challenge", "code_challenge_method", "prompt", "max_age", "id_token_hint", "login_hint",
)  # fmt: skip
#: What a request object may carry (spec §5.1, §5.3): the parameters above and those accepted and ignored.
PARAMETERS = frozenset((*SINGLE, "channel", "acr_values", "display", "claims_locales", "rp_sid"))


class AuthorizeError(Exception):
    """A refused authorization request. `redirect_uri` None: answer with the HTML error page (status 400)."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
        response_mode: str = "query",
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state
        self.response_mode = response_mode


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_mode: str
    scope: str
    state: str
    nonce: str | None
    vtr: str
    claims: dict[str, Any] | None = None
    code_challenge: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    lang: str | None = None
    login_hint: str | None = None
    #: The `sub` of a valid `id_token_hint`: the session's user must be this subject.
    hint_sub: str | None = None

    @property
    def vector(self) -> Vector:
        return lowest(parse_vtr(self.vtr) or [])

    @property
    def reauthentication(self) -> bool:
        """`prompt=login` with an `id_token_hint` (One Login's re-authentication, spec §5.3): only the hinted user
        may sign in; anyone else, or too many failures, ends the session and answers `login_required`."""
        return self.hint_sub is not None and "login" in self.prompt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        values = dict(data)
        values["prompt"] = tuple(values.get("prompt") or ())
        return cls(**values)

    def oauth_params(self) -> dict[str, str]:
        """The request as Authlib's grant sees it when it issues the code."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "response_mode": self.response_mode,
        }
        if self.nonce:
            params["nonce"] = self.nonce
        if self.code_challenge:
            params.update(code_challenge=self.code_challenge, code_challenge_method="S256")
        return params


def pkce_error(params: Mapping[str, str | None], client: RegisteredClient) -> str | None:
    """The one PKCE rule (S256 only), shared with Authlib's extension; None when the request is acceptable."""
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if challenge is None and method is None:
        return "Request is missing code_challenge parameter" if client.pkce_enforced else None
    if method != "S256":
        return "Invalid value for code_challenge_method parameter"
    if challenge is None or not CHALLENGE.match(challenge):
        return "Invalid value for code_challenge parameter"
    return None


def _claims_request(raw: str | None, client: RegisteredClient) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError
    userinfo = parsed.get("userinfo") or {}
    if not isinstance(userinfo, dict):
        raise ValueError
    if any(name in CLAIMS_SUPPORTED and name not in client.claims for name in userinfo):
        raise ValueError
    return {"userinfo": {k: v for k, v in userinfo.items() if k in CLAIMS_SUPPORTED}}


def validate(
    query: Sequence[tuple[str, str]],
    client_of: Callable[[str], RegisteredClient | None],
    *,
    verify_hint: Callable[[str, str], dict[str, Any] | None],
    language_of: Callable[[str | None], str | None],
    open_request: Callable[[str, RegisteredClient], dict[str, str]],
) -> tuple[AuthorizationRequest, RegisteredClient]:
    """Validate the request's parameters (query or form pairs); raise `AuthorizeError` on the first failure.
    `open_request` verifies a request object and returns its parameters (raising `RequestObjectError`)."""
    values: dict[str, list[str]] = {}
    for key, value in query:
        values.setdefault(key, []).append(value)
    one = {k: v[0] for k, v in values.items()}

    def page(description: str) -> AuthorizeError:
        return AuthorizeError("invalid_request", description)

    if any(len(values.get(name, ())) > 1 for name in ("client_id", "redirect_uri", "response_mode", "request")):
        raise page(N_("The request repeats a parameter"))
    client = client_of(one["client_id"]) if one.get("client_id") else None
    if client is None:
        raise page(N_("Unknown client"))
    signed = "request" in one and "request_uri" not in one
    if signed:
        try:
            carried = open_request(one["request"], client)
        except RequestObjectError as exc:
            raise AuthorizeError("invalid_request_object", exc.description) from None
        if any(len(values.get(name, ())) != 1 or carried.get(name) != one[name] for name in MUST_MATCH):
            raise page(N_("The response_type, scope and client_id parameters must match the request object"))
        values, one = {k: [v] for k, v in carried.items()}, carried
    redirect_uri = one.get("redirect_uri")
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        raise page(N_("Invalid redirect URI"))
    response_mode = one.get("response_mode", "query")
    if response_mode not in ("query", "fragment"):
        raise page(N_("Invalid response_mode parameter"))
    state = one.get("state")

    def fail(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirect_uri=redirect_uri, state=state, response_mode=response_mode)

    if "request_uri" in values:
        raise fail("request_uri_not_supported", "Request URI parameter is not supported")
    if client.jar_validation_required and not signed:
        raise fail("invalid_request", "Request must be a signed request object (JAR)")
    if not client.active:
        raise fail("unauthorized_client", "client deactivated")
    repeated = [name for name in SINGLE if len(values.get(name, ())) > 1]
    if repeated:
        raise fail("invalid_request", f"Request has more than one {repeated[0]} parameter")
    if one.get("response_type") != "code":
        raise fail("unsupported_response_type", "Unsupported response type")
    scopes = (one.get("scope") or "").split()
    if "openid" not in scopes or any(s not in SCOPES_SUPPORTED or s not in client.scopes for s in scopes):
        raise fail("invalid_scope", "Invalid, unknown or malformed scope")
    if not state or len(state) > 1024:
        raise fail("invalid_request", "Request is missing state parameter")
    nonce = one.get("nonce")
    if nonce is not None and not 1 <= len(nonce) <= 512:
        raise fail("invalid_request", "Invalid nonce parameter")
    if nonce is None and not client.permit_missing_nonce:
        raise fail("invalid_request", "Request is missing nonce parameter")
    try:
        claims = _claims_request(one.get("claims"), client)
    except ValueError:
        raise fail("invalid_request", "Request contains invalid claims") from None
    vtr = one.get("vtr") or client.default_vtr or DEFAULT_VTR
    vectors = parse_vtr(vtr)
    if vectors is None:
        raise fail("invalid_request", "Request vtr not valid")
    chosen = lowest(vectors)
    if chosen.identity >= 1 and (
        chosen.identity_level not in client.levels_of_confidence
        or not client.identity_verification_supported
        or client.token_auth_method != "private_key_jwt"
    ):
        raise fail("invalid_request", "Request vtr is not permitted")
    problem = pkce_error(one, client)
    if problem:
        raise fail("invalid_request", problem)
    prompt = tuple((one.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        raise fail("invalid_request", "Invalid prompt parameter")
    if "select_account" in prompt:
        raise fail("unmet_authentication_requirements", "Prompt parameter select_account is not supported")
    max_age = None
    if "max_age" in one:
        if not one["max_age"].isdigit():
            raise fail("invalid_request", "Invalid max_age parameter")
        max_age = int(one["max_age"]) if client.max_age_enabled else None
    if one.get("channel", "web") not in ("web", "generic_app"):
        raise fail("invalid_request", "Invalid channel parameter")
    hint_sub = None
    if one.get("id_token_hint"):
        hint = verify_hint(one["id_token_hint"], client.client_id)
        if hint is None:
            raise fail("invalid_request", "Invalid id_token_hint parameter")
        hint_sub = str(hint.get("sub"))
    login_hint = one.get("login_hint")
    request = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_mode=response_mode,
        scope=" ".join(scopes),
        state=state,
        nonce=nonce,
        vtr=vtr,
        claims=claims,
        code_challenge=one.get("code_challenge"),
        prompt=prompt,
        max_age=max_age,
        lang=language_of(one.get("ui_locales")),
        login_hint=login_hint if login_hint and "@" in login_hint and len(login_hint) <= 254 else None,
        hint_sub=hint_sub,
    )
    return request, client
