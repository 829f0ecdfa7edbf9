"""Registration checks (spec §11), made by identity alone on every push; a failure is a 422 the console shows.

A `STATIC` key holding private material is refused with an explicit message (One Login's docs once told RPs to
register their private key). Redirect URIs must be https without a fragment; back-channel logout and JWKS URLs
must also be on a public address. Development mode also accepts `http://127.0.0.1` and `http://localhost`.
A client-secret method is refused with P1 or P2, and such a client's public key is optional. ID tokens are signed
with `ES256` or `RS256`, nothing else (never `none` or an HMAC).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from gaap.errors import Unprocessable
from services.identity.clients.schemas import ClientRecord
from services.identity.clients.secret import SECRET_METHODS
from services.identity.keys.models import ID_TOKEN_SETS

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


class InvalidClient(Unprocessable):
    code = "InvalidClientRecord"


def _fail(client: ClientRecord, message: str) -> InvalidClient:
    return InvalidClient(f"client {client.client_id}: {message}")


def check_url(client: ClientRecord, field: str, url: str, *, development: bool, public: bool = False) -> str:
    parts = urlsplit(url)
    if parts.fragment or "#" in url:
        raise _fail(client, f"{field} must not contain a fragment: {url!r}")
    host = parts.hostname or ""
    if parts.scheme == "http" and development and host in LOOPBACK_HOSTS:
        return url
    if parts.scheme != "https" or not host:
        raise _fail(client, f"{field} must be an https URL: {url!r}")
    if public and not _is_public_host(host):
        raise _fail(client, f"{field} must be on a public address: {url!r}")
    return url


def _is_public_host(host: str) -> bool:
    if host in LOOPBACK_HOSTS or host.endswith(".localhost") or host.endswith(".local"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global


def check_token_auth_method(client: ClientRecord) -> bool:
    """Whether the client authenticates with a secret. A secret is never enough for an identity level: One Login's
    rule, since a P1 or P2 client receives identity claims (spec §5.2 rule 6, §11)."""
    if client.token_auth_method not in SECRET_METHODS:
        return False
    if set(client.client_locs) - {"P0"} or client.identity_verification_supported:
        raise _fail(
            client,
            f"TokenAuthMethod {client.token_auth_method} cannot be combined with P1 or P2 in ClientLoCs or with "
            "IdentityVerificationSupported: a client that asks for identity levels must use private_key_jwt",
        )
    return True


def check_id_token_algorithm(client: ClientRecord) -> str:
    """The client's `IdTokenSigningAlgorithm`, one of those identity has a key set for (spec §6.1, §8)."""
    alg = client.id_token_signing_algorithm
    if alg not in ID_TOKEN_SETS:
        allowed = " or ".join(ID_TOKEN_SETS)
        raise _fail(client, f"IdTokenSigningAlgorithm must be {allowed}, not {alg[:20]!r}")
    return alg


def sector_of(client: ClientRecord, *, development: bool) -> str:
    """The sector a client's pairwise subjects are computed over (spec §6.2); "public" for public subjects."""
    if client.subject_type == "public":
        return "public"
    if client.sector_identifier_uri:
        check_url(client, "SectorIdentifierUri", client.sector_identifier_uri, development=development)
        return str(urlsplit(client.sector_identifier_uri).hostname)
    hosts = {urlsplit(uri).hostname for uri in client.redirect_urls}
    if len(hosts) != 1:
        raise _fail(client, "RedirectUrls on several hosts need a SectorIdentifierUri for pairwise subjects")
    return str(hosts.pop())


def public_jwks(client: ClientRecord) -> dict[str, Any]:
    """A `STATIC` client's key, as a JWKS of public keys with unique `kid`s."""
    raw = client.public_key
    if raw is None or raw == "":
        raise _fail(client, "PublicKey is required when PublicKeySource is STATIC")
    if isinstance(raw, str) and "PRIVATE KEY" in raw:
        raise _fail(
            client, "PublicKey holds a private key: register the public key only, and keep the private key secret"
        )
    if isinstance(raw, str) and raw.lstrip().startswith("-----BEGIN"):
        return {"keys": checked_jwks(client, [_pem_to_jwk(client, raw)])}
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _fail(client, "PublicKey is neither a PEM public key nor a JWK") from None
    keys = data.get("keys") if isinstance(data, dict) and "keys" in data else [data]
    return {"keys": checked_jwks(client, keys)}


def checked_jwks(client: ClientRecord | None, keys: Any) -> list[dict[str, Any]]:
    """Public keys only, RSA of at least 2048 bits or EC P-256, with unique `kid`s (also used for fetched JWKS)."""
    if not isinstance(keys, list) or not keys or len(keys) > 10:
        raise _error(client, "a JWKS needs between 1 and 10 keys")
    out: list[dict[str, Any]] = []
    for jwk in keys:
        if not isinstance(jwk, dict):
            raise _error(client, "a JWK must be an object")
        if "d" in jwk or any(name in jwk for name in ("p", "q", "dp", "dq", "qi")):
            raise _error(
                client, "PublicKey holds a private key: register the public key only, and keep the private key secret"
            )
        try:
            key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
        except (JoseError, ValueError, TypeError) as exc:
            raise _error(client, f"a JWK could not be read: {exc}") from None
        if isinstance(key, RSAKey):
            if key.raw_value.key_size < 2048:
                raise _error(client, "RSA keys must be at least 2048 bits")
        elif not (isinstance(key, ECKey) and key.curve_name == "P-256"):
            raise _error(client, "keys must be RSA (2048 bits or more) or EC P-256")
        out.append({k: v for k, v in jwk.items() if k not in ("d",)})
    kids = [k.get("kid") for k in out if k.get("kid")]
    if len(kids) != len(set(kids)):
        raise _error(client, "the keys' kid values must be unique")
    return out


def _error(client: ClientRecord | None, message: str) -> InvalidClient:
    return _fail(client, message) if client is not None else InvalidClient(message)


def _pem_to_jwk(client: ClientRecord, pem: str) -> dict[str, Any]:
    try:
        loaded = load_pem_public_key(pem.encode())
    except ValueError:
        raise _fail(client, "PublicKey is not a PEM SubjectPublicKeyInfo public key") from None
    if isinstance(loaded, rsa.RSAPublicKey):
        if loaded.key_size < 2048:
            raise _fail(client, "RSA keys must be at least 2048 bits")
        return dict(RSAKey.import_key(loaded).as_dict(private=False))
    if isinstance(loaded, ec.EllipticCurvePublicKey):
        return dict(ECKey.import_key(loaded).as_dict(private=False))
    raise _fail(client, "keys must be RSA (2048 bits or more) or EC P-256")
