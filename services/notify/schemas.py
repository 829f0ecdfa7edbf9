"""Draft-7 JSON Schemas for every request body and list query of notify's v2 API (spec §4.2, §5–§7, §18).

Each schema is the only definition of its request: `validation.validate` checks requests against it, and
`openapi_request_body` / `openapi_query_parameters` turn it into the route's OpenAPI (`openapi_extra`), so the
documentation cannot drift from what is enforced. The shapes follow alphagov/notifications-api's
`notification_schemas.py`, `template_schemas.py`, `templates_schemas.py` and `inbound_sms_schemas.py`.

Message-bearing details are deliberate:
- enum lists are in GOV.UK's order, because the list is printed in the message
  (`status elephant is not one of [cancelled, created, ...]`);
- `validationMessage` (GOV.UK's own keyword, ignored by JSON Schema) replaces jsonschema's text for a field,
  e.g. `template_id is not a valid UUID` whatever is wrong with the value;
- every POST body and list query has `additionalProperties: false`, except the template preview, whose extra keys
  are ignored (spec §7; GOV.UK's preview schema has none either).

Keywords beyond OpenAPI 3.0: `if`/`then`, `const` and `type` lists with `"null"`. They are valid in OpenAPI 3.1,
which FastAPI emits. Formats `uuid`, `phone_number`, `email_address`, `https_url` and `datetime_within_next_day`
are ours (OpenAPI formats are open-ended). These dicts are shared: never mutate them.
"""

from __future__ import annotations

import copy
from typing import Any

from services.notify.statuses import STATUSES

DRAFT_7 = "http://json-schema.org/draft-07/schema#"

TEMPLATE_TYPES = ["sms", "email", "letter"]
#: GOV.UK's NOTIFICATION_STATUS_TYPES, then the letter aliases `accepted` and `received` (spec §6.2).
QUERYABLE_STATUSES = [*STATUSES, "accepted", "received"]
PROCESS_TYPES = ["normal", "priority", "bulk"]
TEMPLATE_POSTAGE = ["first", "second", "economy"]
MAX_REFERENCE_LENGTH = 1000
MAX_BULK_ROWS = 100_000

UUID: dict[str, Any] = {"type": "string", "format": "uuid", "validationMessage": "is not a valid UUID"}
NULLABLE_UUID: dict[str, Any] = {**UUID, "type": ["string", "null"]}
PERSONALISATION: dict[str, Any] = {
    "type": "object",
    "description": "Placeholder values; any JSON values, converted with str() (lists become bullets).",
}
#: notify spec §12: an email's personalisation value that is an object with `file` is a file to send by email
#: (`prepare_upload` sends all four keys, nulls included). The options' formats give GOV.UK's messages
#: (`documents.options`); an object without `file` stays an ordinary value.
SEND_A_FILE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "description": "The file, base64-encoded; at most 2 MiB decoded."},
        "filename": {"format": "send_a_file_filename"},
        "confirm_email_before_download": {"format": "send_a_file_confirm_email_before_download"},
        "retention_period": {"format": "send_a_file_retention_period"},
        "is_csv": {"format": "send_a_file_is_csv"},
    },
    "required": ["file"],
    "additionalProperties": False,
}
EMAIL_PERSONALISATION: dict[str, Any] = {
    **PERSONALISATION,
    "additionalProperties": {"if": {"type": "object", "required": ["file"]}, "then": SEND_A_FILE},
}
#: PostgreSQL text cannot hold NUL, so a reference with one is refused here rather than failing at INSERT.
NO_NUL: dict[str, Any] = {
    "not": {"type": "string", "pattern": "\u0000"},
    "validationMessage": "must not contain NUL characters",
}
REFERENCE: dict[str, Any] = {"type": "string", "maxLength": MAX_REFERENCE_LENGTH, "allOf": [NO_NUL]}
SCHEDULED_FOR: dict[str, Any] = {
    "type": ["string", "null"],
    "format": "datetime_within_next_day",
    "description": "ISO 8601; naive means UTC. Validated always, honoured only with `schedule_notifications`.",
}
HTTPS_URL: dict[str, Any] = {
    "type": "string",
    "maxLength": 2048,
    "pattern": "^https://",
    "format": "https_url",
    "validationMessage": "is not a valid https url",
}

POST_SMS: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/notifications/sms",
    "type": "object",
    "properties": {
        "reference": REFERENCE,
        "phone_number": {"type": "string", "format": "phone_number"},
        "template_id": UUID,
        "personalisation": PERSONALISATION,
        "scheduled_for": SCHEDULED_FOR,
        "sms_sender_id": UUID,
    },
    "required": ["phone_number", "template_id"],
    "additionalProperties": False,
}

POST_EMAIL: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/notifications/email",
    "type": "object",
    "properties": {
        "reference": REFERENCE,
        "email_address": {"type": "string", "format": "email_address"},
        "template_id": UUID,
        "personalisation": EMAIL_PERSONALISATION,
        "scheduled_for": SCHEDULED_FOR,
        "email_reply_to_id": UUID,
        "one_click_unsubscribe_url": HTTPS_URL,
        "sanitise_content_for": {"type": ["array", "null"], "items": {"type": "string"}},
    },
    "required": ["email_address", "template_id"],
    "additionalProperties": False,
}

POST_LETTER: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/notifications/letter",
    "description": "A letter from a template. A body with the key `content` is a precompiled letter instead.",
    "type": "object",
    "properties": {
        "reference": REFERENCE,
        "template_id": UUID,
        # Only the first line is a schema rule (`personalisation address_line_1 is a required property`, as GOV.UK
        # documents); the others, and the line count, are the address rules of spec §10.3.
        "personalisation": {**PERSONALISATION, "required": ["address_line_1"]},
    },
    "required": ["template_id", "personalisation"],
    "additionalProperties": False,
}

POST_PRECOMPILED_LETTER: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/notifications/letter (precompiled PDF)",
    "type": "object",
    "properties": {
        "reference": REFERENCE,
        "content": {"type": "string", "description": "The PDF, base64-encoded."},
        # Values are a business rule with its own error (spec §4.3: BadRequestError `postage invalid. It must be
        # either first, second or economy.`), so the schema checks the type only.
        "postage": {"type": "string", "description": "`first`, `second` or `economy`; default `second`."},
    },
    "required": ["reference", "content"],
    "additionalProperties": False,
}

GET_NOTIFICATIONS_QUERY: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "GET v2/notifications query",
    "type": "object",
    "properties": {
        "template_type": {"type": "array", "items": {"enum": TEMPLATE_TYPES}},
        "status": {"type": "array", "items": {"enum": QUERYABLE_STATUSES}},
        "reference": {"type": "string", "allOf": [NO_NUL]},
        "older_than": UUID,
        "include_jobs": {"enum": ["true", "True"]},
    },
    "additionalProperties": False,
}

GET_RECEIVED_TEXT_MESSAGES_QUERY: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "GET v2/received-text-messages query",
    "type": "object",
    "properties": {"older_than": UUID},
    "additionalProperties": False,
}

GET_TEMPLATES_QUERY: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "GET v2/templates query",
    "type": "object",
    "properties": {"type": {"enum": TEMPLATE_TYPES}},
    "additionalProperties": False,
}

POST_TEMPLATE_PREVIEW: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/template/{template_id}/preview",
    "type": "object",
    "properties": {"personalisation": PERSONALISATION},
}

_MANAGED_TEMPLATE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "body": {"type": "string", "minLength": 1},
    "subject": {"type": "string", "minLength": 1},
    "process_type": {"enum": PROCESS_TYPES},
    "postage": {"enum": TEMPLATE_POSTAGE, "description": "Letters only."},
    "reply_to_id": NULLABLE_UUID,
    "has_unsubscribe_link": {
        "type": "boolean",
        "description": "Email only: without a `one_click_unsubscribe_url`, notify makes the link (spec §13.3).",
    },
}

POST_MANAGE_TEMPLATE: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/manage-template",
    "type": "object",
    "properties": {"type": {"enum": TEMPLATE_TYPES}, **_MANAGED_TEMPLATE_FIELDS},
    "required": ["name", "type", "body"],
    "additionalProperties": False,
    "allOf": [
        {
            "if": {"type": "object", "properties": {"type": {"enum": ["email", "letter"]}}, "required": ["type"]},
            "then": {"required": ["subject"]},
        },
        {
            "if": {"type": "object", "properties": {"type": {"enum": ["sms", "email"]}}, "required": ["type"]},
            "then": {"not": {"required": ["postage"]}, "validationMessage": "postage is only for letter templates"},
        },
    ],
}

PATCH_MANAGE_TEMPLATE: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "PATCH v2/manage-template/{template_id}",
    "description": "Changes to `name`, `body` or `subject` create a new version. The type never changes.",
    "type": "object",
    "properties": _MANAGED_TEMPLATE_FIELDS,
    "additionalProperties": False,
}

POST_BULK: dict[str, Any] = {
    "$schema": DRAFT_7,
    "title": "POST v2/notifications/bulk",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "template_id": UUID,
        "rows": {
            "type": "array",
            "description": "The first row is the headers; cells are checked row by row by the bulk service.",
            "minItems": 1,
            "maxItems": MAX_BULK_ROWS + 1,
            # Without these, one message would repr every row of a 100,000-row batch.
            "validationMessage": f"must be a list of rows: a header row, then at most {MAX_BULK_ROWS} rows",
            "items": {"type": "array", "validationMessage": "must be a list of rows, each a list of cells"},
        },
        "csv": {"type": "string", "minLength": 1, "description": "The CSV file, base64-encoded."},
        "reply_to_id": UUID,
        "scheduled_for": SCHEDULED_FOR,
    },
    "required": ["name", "template_id"],
    "additionalProperties": False,
    # `if: object`, so a body that is not an object gets only the type message.
    "if": {"type": "object"},
    "then": {
        "oneOf": [{"required": ["rows"]}, {"required": ["csv"]}],
        "validationMessage": "Exactly one of rows or csv must be given",
    },
}

POST_BODIES: dict[str, dict[str, Any]] = {
    "sms": POST_SMS,
    "email": POST_EMAIL,
    "letter": POST_LETTER,
    "precompiled_letter": POST_PRECOMPILED_LETTER,
    "template_preview": POST_TEMPLATE_PREVIEW,
    "manage_template": POST_MANAGE_TEMPLATE,
    "manage_template_patch": PATCH_MANAGE_TEMPLATE,
    "bulk": POST_BULK,
}
LIST_QUERIES: dict[str, dict[str, Any]] = {
    "notifications": GET_NOTIFICATIONS_QUERY,
    "received_text_messages": GET_RECEIVED_TEXT_MESSAGES_QUERY,
    "templates": GET_TEMPLATES_QUERY,
}


def _openapi(schema: Any) -> Any:
    """A copy fit for OpenAPI: no `$schema`, and `validationMessage` as the extension `x-validationMessage`."""
    if isinstance(schema, dict):
        renamed = {"x-validationMessage" if key == "validationMessage" else key: value for key, value in schema.items()}
        return {key: _openapi(value) for key, value in renamed.items() if key != "$schema"}
    if isinstance(schema, list):
        return [_openapi(item) for item in schema]
    return copy.deepcopy(schema)


def openapi_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a POST route: the schema as its JSON request body (any Content-Type is parsed as JSON)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": _openapi(schema)}}}}


def openapi_query_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a list route: one query parameter per property; arrays repeat their key (`?a=1&a=2`)."""
    parameters = []
    for name, sub_schema in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": _openapi(sub_schema)}
        if sub_schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return {"parameters": parameters}
