"""Notify-style API key authentication, in GOV.UK Notify's order and with its exact texts (notify spec §3.2).

The client signs a fresh HS256 JWT for every request with the key's secret: `iss` is the service id and `iat`
the time. We try each of the service's keys (revoked ones too, so a revoked key gets its own answer).

Tokens of exactly that shape (a `typ`/`alg` header, `iss` and `iat` claims: what the official clients send) are
parsed once and checked with one HMAC per key (`gaap.jws`). Any other token goes through PyJWT, whose generic claim
rules (`exp`, `nbf`, `aud`, types) decide the answer, as they do for GOV.UK Notify.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import jwt

from gaap.errors import ApiError
from gaap.jws import CompactJws, MalformedToken
from gaap.principal import Principal
from gateway.auth.credentials import CredentialStore, NotifyKeyEntry, ServiceEntry

GENERIC = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
CLOCK_SKEW_SECONDS = 30
#: The shape the fast path takes (anything else: PyJWT).
PLAIN_HEADER_KEYS = frozenset({"typ", "alg"})
PLAIN_CLAIMS = frozenset({"iss", "iat"})


class NotifyAuthError(ApiError):
    code = "AuthError"


def _fail(status: int, message: str) -> NotifyAuthError:
    return NotifyAuthError(message, status_code=status)


async def authenticate_notify(
    authorization: str | None,
    store: CredentialStore,
    request_id: str,
    *,
    clock: Callable[[], float] = time.time,
) -> tuple[Principal, ServiceEntry]:
    if not authorization:
        raise _fail(401, "Unauthorized: authentication token must be provided")
    if authorization[:7].lower() != "bearer ":
        raise _fail(401, "Unauthorized: authentication bearer scheme must be used")
    token = authorization[7:].strip()
    plain = _plain(token)
    if plain is not None:
        header, claims = plain.header, plain.claims
    else:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _fail(403, GENERIC) from None
    issuer = claims.get("iss")
    if issuer is None:
        raise _fail(403, "Invalid token: iss field not provided")
    try:
        service_id = uuid.UUID(str(issuer))
    except ValueError:
        raise _fail(403, "Invalid token: service id is not the right data type") from None
    service = await store.service(service_id)
    if service is None:
        raise _fail(403, "Invalid token: service not found")
    if not service.notify_keys:
        raise _fail(403, "Invalid token: service has no API keys")
    if not service.active:
        raise _fail(403, "Invalid token: service is archived")
    if header.get("alg") != "HS256":
        raise _fail(403, "Invalid token: algorithm used is not HS256")
    for key in service.notify_keys:
        verified = _verified_plain(plain, key) if plain is not None else _verified(token, key)
        if verified is None:
            continue
        iat = verified.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            continue
        if abs(clock() - iat) > CLOCK_SKEW_SECONDS:
            raise _fail(403, "Error: Your system clock must be accurate to within 30 seconds")
        if key.revoked:
            raise _fail(403, "Invalid token: API key revoked")
        store.note_used(key.id)
        principal = Principal(
            request_id=request_id,
            service_id=str(service.id),
            key_id=str(key.id),
            key_type=key.key_type,
            scopes=frozenset(key.scopes),
            organisation_id=str(service.organisation_id),
        )
        return principal, service
    raise _fail(403, "Invalid token: API key not found")


def _plain(token: str) -> CompactJws | None:
    """The token, parsed, if it has the official clients' shape; else None (PyJWT will judge it)."""
    try:
        jws = CompactJws.parse(token)
    except MalformedToken:
        return None
    if jws.header.keys() <= PLAIN_HEADER_KEYS and jws.claims.keys() == PLAIN_CLAIMS:
        return jws
    return None


def _verified_plain(jws: CompactJws, key: NotifyKeyEntry) -> dict[str, object] | None:
    """The claims if `key` signed the token (with only `iss` and `iat` there is no other claim to check)."""
    return jws.claims if jws.signed_with(key.secret_bytes) else None


def _verified(token: str, key: NotifyKeyEntry) -> dict[str, object] | None:
    """PyJWT's verdict for any other token: the claims if `key` signed it and its claims are valid, None if it
    was not signed with `key` or lacks `iat`/`iss`; a 403 if signed with `key` but otherwise invalid."""
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            options={"require": ["iat", "iss"], "verify_iat": False},
        )
    except (jwt.InvalidSignatureError, jwt.MissingRequiredClaimError):
        return None
    except jwt.PyJWTError:
        # Matched the signature but another claim is malformed or expired (e.g. `exp` in the past).
        raise _fail(403, GENERIC) from None
    return claims
