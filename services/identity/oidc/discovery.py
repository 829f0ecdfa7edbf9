"""The discovery document (spec §4), built once per process from the issuer: only what this OP does is
advertised (no `none` algorithm), so a relying party's library never picks a method we would refuse. Each client
uses the one token endpoint method it is registered with: `private_key_jwt`, or (never for an identity level) a
client secret sent as `client_secret_post` or `client_secret_basic`."""

from __future__ import annotations

from typing import Any

from services.identity.oidc.authorize import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from services.identity.oidc.errors import documentation_url
from services.identity.oidc.signed import SIGNING_ALGORITHMS
from services.identity.settings import IdentitySettings


def discovery_document(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "authorize",
        "token_endpoint": issuer + "token",
        "userinfo_endpoint": issuer + "userinfo",
        "end_session_endpoint": issuer + "logout",
        "jwks_uri": issuer + ".well-known/jwks.json",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "response_modes_supported": ["query", "fragment"],
        "subject_types_supported": ["public", "pairwise"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "request_uri_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": False,
        "ui_locales_supported": ["en", "cy"],
        "trustmarks": issuer + "trustmark",
    }


def documentation_links(issuer: str, settings: IdentitySettings) -> dict[str, str]:
    """Discovery's links for people (spec §4, R1): `service_documentation`, identity's own page for relying-party
    developers unless configured, and `op_policy_uri` and `op_tos_uri` only when configured (never empty)."""
    links = {"service_documentation": settings.service_documentation or documentation_url(issuer)}
    if settings.op_policy_uri:
        links["op_policy_uri"] = settings.op_policy_uri
    if settings.op_tos_uri:
        links["op_tos_uri"] = settings.op_tos_uri
    return links


def trustmark_document(issuer: str, sandbox: bool) -> dict[str, Any]:
    """The levels this OP delivers (spec §4); `sandbox` says identities are proven against simulated sources."""
    document: dict[str, Any] = {
        "idp": issuer,
        "trustmark_provider": issuer,
        "C": ["Cl", "Cl.Cm"],
        "P": ["P0", "P1", "P2"],
    }
    if sandbox:
        document["sandbox"] = True
    return document
