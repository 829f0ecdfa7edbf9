"""The vocabulary's JSON Schemas (JSON Schema 2020-12), served at `/identity/vocab/v1/{claimName}` (spec §3, R1).

One Login's vocabulary URLs answer 404, so a relying party could only learn a claim's shape from prose. Each schema
here describes the value UserInfo gives under `https://vocab.account.gov.uk/v1/{claimName}`: the identity claims'
arrays (§7.2), the core identity JWT's payload (§7.1, as the `contentSchema` of its compact JWS), and the return
codes, whose letters One Login keeps private, so ours are defined here. The tests validate the claims the real
journeys produce against these schemas, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from gaap.errors import json_response
from services.identity.deps import Op
from services.identity.i18n import N_
from services.identity.oidc.errors import with_error_uri

router = APIRouter(tags=["oidc"])
DIALECT = "https://json-schema.org/draft/2020-12/schema"
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
#: Address text: the characters One Login allows (spec §7.2).
ADDRESS_TEXT = {"type": "string", "minLength": 1, "pattern": r"^[0-9A-Za-z'.,\\/*\- ]+$"}
ADDRESS_FIELDS = (
    "organisationName", "departmentName", "subBuildingName", "buildingNumber", "buildingName", "dependentStreetName",
    "streetName", "doubleDependentAddressLocality", "dependentAddressLocality", "addressLocality", "addressRegion",
    "postalCode",
)  # fmt: skip
#: The return codes (spec §7.2): the first that applies wins.
RETURN_CODES = {
    "B": "The document check failed: the document was not valid, or a document contra-indicator was found.",
    "C": "The fraud check found an indicator.",
    "D": "The knowledge-based check failed, or could not be made.",
    "A": "The evidence met no accepted profile for the requested level.",
}


def _array_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": item}


NAME = {
    "type": "object",
    "required": ["nameParts"],
    "additionalProperties": False,
    "properties": {
        "nameParts": _array_of(
            {
                "type": "object",
                "required": ["value", "type"],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "string", "minLength": 1},
                    "type": {"enum": ["GivenName", "FamilyName"]},
                },
            }
        ),
        "validFrom": DATE,
        "validUntil": DATE,
    },
}
CORE_IDENTITY_PAYLOAD = {
    "type": "object",
    "required": ["sub", "iss", "aud", "nbf", "iat", "exp", "vot", "vtm", "vc"],
    "properties": {
        "sub": {"type": "string", "description": "The ID token's sub."},
        "iss": {"type": "string", "description": "The core identity issuer, whose did:web document holds the key."},
        "aud": {"type": "string", "description": "The client id."},
        "nbf": {"type": "integer"},
        "iat": {"type": "integer"},
        "exp": {"type": "integer", "description": "iat + 1800."},
        "vot": {"enum": ["P1", "P2"], "description": "The identity level asked for and met."},
        "vtm": {"type": "string", "description": "The trust mark URL."},
        "vc": {
            "type": "object",
            "required": ["type", "credentialSubject"],
            "properties": {
                "type": {"const": ["VerifiableCredential", "VerifiableIdentityCredential"]},
                "credentialSubject": {
                    "type": "object",
                    "required": ["name", "birthDate"],
                    "properties": {
                        "name": _array_of(NAME),
                        "birthDate": _array_of(
                            {
                                "type": "object",
                                "required": ["value"],
                                "additionalProperties": False,
                                "properties": {"value": DATE},
                            }
                        ),
                    },
                },
            },
        },
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "coreIdentityJWT": {
        "title": N_("Core identity JWT"),
        "description": "A compact JWS (ES256) signed with a key from the core identity issuer's DID document; its "
        "payload is the contentSchema.",
        "type": "string",
        "contentMediaType": "application/jwt",
        "contentSchema": CORE_IDENTITY_PAYLOAD,
    },
    "address": {
        "title": N_("Addresses"),
        "description": "The person's addresses, the current one (no validUntil) first. validFrom and validUntil "
        "carry the year only (YYYY-01-01).",
        **_array_of(
            {
                "type": "object",
                "required": ["postalCode", "addressCountry"],
                "additionalProperties": False,
                "properties": {
                    "uprn": {"type": "integer", "description": "UK only; dropped if the person edited the address."},
                    **dict.fromkeys(ADDRESS_FIELDS, ADDRESS_TEXT),
                    "addressCountry": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2."},
                    "validFrom": DATE,
                    "validUntil": DATE,
                },
            }
        ),
    },
    "passport": {
        "title": N_("Passport"),
        "description": "Present only when a passport was the identity's document.",
        **_array_of(
            {
                "type": "object",
                "required": ["documentNumber", "icaoIssuerCode", "expiryDate"],
                "additionalProperties": False,
                "properties": {
                    "documentNumber": {"type": "string", "minLength": 1},
                    "icaoIssuerCode": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "expiryDate": DATE,
                },
            }
        ),
    },
    "drivingPermit": {
        "title": N_("Driving permit"),
        "description": "Present only when a driving licence was the identity's document.",
        **_array_of(
            {
                "type": "object",
                "required": ["personalNumber", "issuedBy", "expiryDate"],
                "additionalProperties": False,
                "properties": {
                    "personalNumber": {"type": "string", "minLength": 1},
                    "issueNumber": {"type": "string", "description": "DVLA licences only."},
                    "issuedBy": {"enum": ["DVLA", "DVA"]},
                    "expiryDate": DATE,
                },
            }
        ),
    },
    "returnCode": {
        "title": N_("Return code"),
        "description": "Why identity proving did not meet the requested level, for a client that asked for it "
        "instead of access_denied. One Login's letters are private: these are this service's, and the first that "
        "applies is given.",
        **_array_of(
            {
                "type": "object",
                "required": ["code"],
                "additionalProperties": False,
                "properties": {
                    "code": {"oneOf": [{"const": code, "description": text} for code, text in RETURN_CODES.items()]}
                },
            }
        ),
    },
}


def schema_of(issuer: str, name: str) -> dict[str, Any] | None:
    """The schema for the vocabulary claim `name`, with its `$id` under this issuer; None for an unknown name."""
    body = SCHEMAS.get(name)
    if body is None:
        return None
    return {"$schema": DIALECT, "$id": f"{issuer}identity/vocab/v1/{name}", **body}


@router.get("/identity/vocab/v1/{name}", responses={404: {"description": "No such vocabulary claim"}})
async def vocabulary(name: str, op: Op) -> Response:
    """The JSON Schema (2020-12) of a vocabulary claim's value in UserInfo."""
    schema = schema_of(op.issuer, name)
    if schema is None:
        body = {"error": "invalid_request", "error_description": f"No vocabulary claim is named {name[:64]}"}
        return json_response(404, with_error_uri(op.issuer, body))
    response = json_response(200, schema, {"Cache-Control": "public, max-age=86400"})
    response.headers["content-type"] = "application/schema+json"
    return response
