"""The token endpoint (spec §6) and UserInfo (spec §7), in RFC 6749/6750 JSON with `Cache-Control: no-store`.

`/token` finds which client authentication the request uses (a client assertion, a `client_secret` form field or
HTTP Basic; more than one is `invalid_request`), loads what Authlib's hooks need (the client, its parsed keys for
an assertion, the code), lets Authlib validate the request and build the tokens, then applies the effects in one
Redis script (`GrantStore.redeem`) that keeps every rule under concurrency: an assertion's `jti` is recorded (a
replay loses and writes nothing; a client secret has none), the code is claimed (a second use loses, and revokes
what the first was given), and only then are the access token and the browser session's record of the client
written. A redeemed token costs two Redis round trips and no database work; only a
reused code opens a database session, for its security event.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import unquote

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from gaap.db.deps import get_database
from services.identity.accounts import repository as users
from services.identity.accounts.models import SMS
from services.identity.clients.secret import PRIVATE_KEY_JWT
from services.identity.deps import Provider
from services.identity.events import record
from services.identity.oidc.errors import error_uri, with_error_uri
from services.identity.oidc.limits import TOKEN, USERINFO
from services.identity.oidc.requests import Exchange, OidcRequest
from services.identity.oidc.store import Redeemed, Redemption
from services.identity.proving import credential

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"


def oauth_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {**NO_STORE, **(headers or {})}, media_type="application/json")


def oauth_error(
    issuer: str, status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 6749 error body, with the `error_uri` of its entry on the documentation page (spec R5)."""
    return oauth_json(status, with_error_uri(issuer, {"error": error, "error_description": description}), headers)


async def _over_limit(op: Provider, endpoint: str, client_id: str) -> Response | None:
    """The client's own limit at `endpoint` (`oidc/limits.py`): None within it, else its 429 or 503."""
    refused = await op.limits.refused(endpoint, client_id)
    if refused is None:
        return None
    return oauth_error(op.issuer, refused.status, "temporarily_unavailable", refused.description, refused.headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header (each form-urlencoded, RFC 6749 §2.3.1), None
    when the request has no such header. Raises ValueError when the header holds no valid credentials, which
    Authlib's own parser would not survive (it decodes the bytes as UTF-8 unchecked)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    client_id, colon, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    if not colon or not client_id or not secret:
        raise ValueError("not client credentials")
    return unquote(client_id), unquote(secret)


def _auth_methods(data: dict[str, str], basic: tuple[str, str] | None) -> list[str]:
    """The client authentication methods a token request uses (RFC 6749 §2.3: it may use only one)."""
    used = ["client_secret_basic"] if basic is not None else []
    if "client_assertion" in data or "client_assertion_type" in data:
        used.append(PRIVATE_KEY_JWT)
    if "client_secret" in data:
        used.append("client_secret_post")
    return used


def _unverified(assertion: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a client assertion, before any check: only to find the client and its key."""
    if not assertion:
        return {}, {}
    try:
        obj = jws.extract_compact(assertion.encode())
        claims = orjson.loads(obj.payload)
    except (JoseError, ValueError):
        return {}, {}
    return obj.headers(), claims if isinstance(claims, dict) else {}


async def token(op: Provider, request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith(FORM):
        return oauth_error(op.issuer, 400, "invalid_request", "The request must be application/x-www-form-urlencoded")
    form = await request.form()
    pairs = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            return oauth_error(op.issuer, 400, "invalid_request", f"Request has more than one {key} parameter")
        seen.add(key)
    data = dict(pairs)
    try:
        basic = _basic_credentials(request)
    except ValueError:
        description = "The Authorization header does not hold valid client credentials"
        challenge = f'Basic error="invalid_client", error_description="{description}"'
        return oauth_error(op.issuer, 401, "invalid_client", description, {"WWW-Authenticate": challenge})
    methods = _auth_methods(data, basic)
    if len(methods) > 1:
        return oauth_error(
            op.issuer, 400, "invalid_request", "The request uses more than one client authentication method"
        )
    method = methods[0] if methods else None
    header, claims = _unverified(data.get("client_assertion")) if method == PRIVATE_KEY_JWT else ({}, {})
    client_id = basic[0] if basic is not None else data.get("client_id")
    client_id = client_id or (claims.get("sub") if isinstance(claims.get("sub"), str) else None)
    client = await op.clients.get(client_id) if client_id else None
    code = data.get("code")
    code_data, code_used = await op.grants.read_code(code) if code else (None, False)
    exchange = Exchange(
        issuer=op.issuer,
        keys=await op.keys.current(),
        client=client,
        auth_method=method,
        client_keys=(
            await op.clients.keys_for(client, header.get("kid"))
            if client is not None and method == PRIVATE_KEY_JWT == client.token_auth_method
            else None
        ),
        code_data=code_data,
        code_used=code_used,
    )
    oauth = OidcRequest("POST", op.issuer + "token", request.headers, pairs, exchange, form=pairs)
    answer = op.server.exchange_code(oauth)
    if answer.status != 200:
        if code and code_used and oauth.client is not None:
            await _reused(op, request, code, oauth.client.client_id)
        return oauth_json(answer.status, answer.body, answer.headers)
    assert client is not None
    assert code is not None
    assert code_data is not None
    over = await _over_limit(op, TOKEN, client.client_id)  # counted once the client is authenticated
    if over is not None:
        return over
    # A client assertion's (jti, exp), recorded by Authlib's hook; a client secret carries no jti.
    assert exchange.jti is not None or method != PRIVATE_KEY_JWT
    jti, exp = exchange.jti or (None, 0)
    body = dict(answer.body)
    stored = {
        "user_id": code_data["user_id"],
        "sub": code_data["sub"],
        "client_id": client.client_id,
        "scope": body.get("scope", code_data["scope"]),
        "claims": code_data.get("claims"),
        "vot": code_data["vot"],
        "identity": code_data.get("identity", 0),
        "return_code": code_data.get("return_code"),
    }
    outcome = await op.grants.redeem(
        Redemption(
            code=code,
            client_id=client.client_id,
            jti=jti,
            jti_ttl=exp - int(time.time()) + op.settings.assertion_leeway,
            access_token=body["access_token"],
            token_data=stored,
            token_ttl=op.settings.access_token_ttl,
            session=op.sessions.record_for(code_data["sid"], code_data["user_id"]),
        )
    )
    if outcome is Redeemed.REPLAYED_ASSERTION:
        return oauth_error(op.issuer, 400, "invalid_client", "The client assertion has been used before")
    if outcome is Redeemed.CODE_TAKEN:
        # Another request redeemed the code between our read and our claim: a reuse like any other.
        await _reused(op, request, code, client.client_id)
    if outcome is not Redeemed.ISSUED:
        return oauth_error(op.issuer, 400, "invalid_grant", "Invalid authorization code")
    return oauth_json(200, body)


async def _reused(op: Provider, request: Request, code: str, client_id: str) -> None:
    """A code presented again: revoke every token it gave and record the event. The only database write `/token`
    makes, so only this path opens a session (committed when the block ends)."""
    revoked = await op.grants.revoke_from_code(code)
    async with get_database(request).write_session() as session:
        record(session, "authorization_code_reused", client_id=client_id, tokens_revoked=revoked)


def _bearer(request: Request, form: dict[str, str]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return form.get("access_token") if request.method == "POST" else None


async def userinfo(op: Provider, request: Request, session: AsyncSession) -> Response:
    form: dict[str, str] = {}
    if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    presented = _bearer(request, form)
    if not presented:
        return Response(status_code=401, headers={**NO_STORE, "WWW-Authenticate": "Bearer"})
    data = await op.grants.read_token(presented)
    if data is None:
        description = "The access token is not valid"
        uri = error_uri(op.issuer, "invalid_token")  # RFC 6750 §3 allows error_uri in the challenge too
        challenge = f'Bearer error="invalid_token", error_description="{description}", error_uri="{uri}"'
        return oauth_error(op.issuer, 401, "invalid_token", description, {"WWW-Authenticate": challenge})
    over = await _over_limit(op, USERINFO, str(data["client_id"]))
    if over is not None:
        return over
    claims: dict[str, Any] = {"sub": data["sub"]}
    scopes = set(str(data["scope"]).split())
    user = await users.by_id(session, data["user_id"]) if scopes & {"email", "phone"} else None
    if user is not None and "email" in scopes:
        claims.update(email=user.email, email_verified=True)
    if user is not None and "phone" in scopes and user.second_factor == SMS and user.phone_number:
        # Only a number proven as the second factor is ever released (One Login's rule, spec §7).
        claims.update(phone_number=user.phone_number, phone_number_verified=True)
    claims.update(await credential.identity_claims(op, session, data))
    return oauth_json(200, claims)
