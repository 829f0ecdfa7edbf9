"""Request objects: an authorization request signed by the relying party and passed by value in `request`
(RFC 9101; spec §5.3). `request_uri` is never fetched (`request_uri_not_supported`).

The object is verified with the client's registered keys (`signed.py`, the same rules as client assertions) and its
claims checked: `iss` is the client, `aud` is `{issuer}authorize` (One Login) or `{issuer}` (OpenID Connect Core),
an `exp` or `nbf` present holds with 30 s of skew. Its authorization parameters then replace the query's: the
caller (`authorize.validate`) checks that the query's `response_type`, `scope` and `client_id` are the object's, and
ignores every other query parameter. Values that OpenID Connect sends as JSON inside the object (`claims` as an
object, `max_age` as a number, `vtr` as an array) become the strings the query would have carried.

Every failure is `invalid_request_object`, shown on the error page and never redirected: until the object is
verified, nothing in it (its `redirect_uri` included) can be trusted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from typing import Any

from joserfc.jwk import KeySet

from services.identity.i18n import N_
from services.identity.oidc.signed import decode_with, header_of

SKEW = 30
#: Registered JWT claims: they describe the object, not the request.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "sub"})
#: The query parameters that must also be in the object, with the same values (spec §5.3).
MUST_MATCH = ("response_type", "scope", "client_id")


class RequestObjectError(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def kid_of(token: str) -> str | None:
    """The `kid` the object names (so a `JWKS` client's keys can be refetched for it), if any."""
    header = header_of(token)
    kid = header.get("kid") if header else None
    return kid if isinstance(kid, str) else None


def open_request_object(
    token: str,
    keys: KeySet,
    *,
    client_id: str,
    issuer: str,
    parameters: Collection[str],
    now: float | None = None,
) -> dict[str, str]:
    """The authorization parameters (of those named in `parameters`) the object carries, as query strings."""
    header = header_of(token)
    if header is None:
        raise RequestObjectError(N_("The request object is not a signed JWT"))
    claims = decode_with(token, keys, header)
    if claims is None:
        raise RequestObjectError(N_("The request object's signature or algorithm is not accepted"))
    if claims.get("iss") != client_id:
        raise RequestObjectError(N_("The request object's iss is not the client"))
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not {issuer, issuer + "authorize"} & {a for a in audiences if isinstance(a, str)}:
        raise RequestObjectError(N_("The request object's aud is not this provider"))
    at = time.time() if now is None else now
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None and (not _number(exp) or exp + SKEW < at):
        raise RequestObjectError(N_("The request object has expired"))
    if nbf is not None and (not _number(nbf) or nbf - SKEW > at):
        raise RequestObjectError(N_("The request object is not valid yet"))
    if "request" in claims or "request_uri" in claims:
        raise RequestObjectError(N_("A request object cannot contain another request object"))
    params: dict[str, str] = {}
    for name, value in claims.items():
        if name in JWT_CLAIMS or name not in parameters:
            continue
        as_text = _as_text(value)
        if as_text is None:
            raise RequestObjectError(N_("The request object has a parameter of the wrong type"))
        params[name] = as_text
    return params


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if _number(value):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return None
