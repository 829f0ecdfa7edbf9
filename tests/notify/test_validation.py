"""The JSON Schema layer gives GOV.UK Notify's exact messages (spec §4.2) and never fails with anything but a 400.

The phone and email checks belong to `services.notify.recipients`; here they are small stand-ins that raise the
spec's messages, because what is under test is how those messages are turned into the envelope's items.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from gaap.errors import ApiError, NotifyFamily
from services.notify import errors, schemas
from services.notify.validation import (
    INVALID_JSON,
    Formats,
    RecipientCheck,
    idempotency_key,
    parse_iso8601,
    parse_json_body,
    parse_query,
    parse_uuid,
    validate,
    validated_body,
    validated_query,
)

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
STATUS_LIST = (
    "[cancelled, created, sending, sent, delivered, pending, failed, technical-failure, temporary-failure, "
    "permanent-failure, pending-virus-check, validation-failed, virus-scan-failed, returned-letter, accepted, received]"
)


class StandInPhoneError(ValueError):
    pass


class StandInEmailError(ValueError):
    pass


PHONE_MESSAGES = {
    "0770090": "Not enough digits",
    "077009001234567890": "Too many digits",
    "07700 9OO123": "Must not contain letters or symbols",
    "+800 1234 5678": "Not a valid country prefix",
    "01632 96": "Number is not valid – double check the phone number you entered",
}


def stand_in_phone(value: str) -> None:
    if value in PHONE_MESSAGES:
        raise StandInPhoneError(PHONE_MESSAGES[value])


def stand_in_email(value: str) -> None:
    if "@" not in value:
        raise StandInEmailError("Not a valid email address")


FORMATS = Formats(
    phone_number=RecipientCheck(stand_in_phone, (StandInPhoneError,)),
    email_address=RecipientCheck(stand_in_email, (StandInEmailError,)),
    now=lambda: NOW,
)


def messages(schema: dict[str, Any], instance: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(errors.ValidationError) as caught:
        validate(schema, instance, formats=FORMATS, **kwargs)
    assert caught.value.status_code == 400
    return caught.value.messages


def sms(**fields: Any) -> dict[str, Any]:
    return {"phone_number": "07700900123", "template_id": TEMPLATE_ID, **fields}


def email(**fields: Any) -> dict[str, Any]:
    return {"email_address": "someone@example.gov.uk", "template_id": TEMPLATE_ID, **fields}


# --- the §4.2 table -----------------------------------------------------------------------------------------------


def test_missing_field() -> None:
    assert messages(schemas.POST_SMS, {"phone_number": "07700900123"}) == ["template_id is a required property"]


@pytest.mark.parametrize("bad", ["not-a-uuid", "", 5, None, ["x"], TEMPLATE_ID + "0"])
def test_bad_uuid_whatever_the_value(bad: Any) -> None:
    assert messages(schemas.POST_SMS, sms(template_id=bad)) == ["template_id is not a valid UUID"]


@pytest.mark.parametrize(
    "form",
    [
        TEMPLATE_ID.upper(),
        "{" + TEMPLATE_ID + "}",
        TEMPLATE_ID.replace("-", ""),
        "urn:uuid:" + TEMPLATE_ID,
    ],
)
def test_uuid_forms_python_accepts(form: str) -> None:
    validate(schemas.POST_SMS, sms(template_id=form), formats=FORMATS)
    assert parse_uuid(form, "notification_id") == uuid.UUID(TEMPLATE_ID)


def test_uuid_in_query_and_path() -> None:
    query = parse_query("older_than=nope", schemas.GET_NOTIFICATIONS_QUERY)
    assert messages(schemas.GET_NOTIFICATIONS_QUERY, query) == ["older_than is not a valid UUID"]
    with pytest.raises(errors.ValidationError) as caught:
        parse_uuid("1234", "notification_id")
    assert caught.value.message == "notification_id is not a valid UUID"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("not_a_dict", "not_a_dict"),
        ([1, "a"], "[1, a]"),
        (None, "None"),
        (True, "True"),
        (1.5, "1.5"),
    ],
)
def test_wrong_type_shows_the_python_repr_without_quotes(value: Any, shown: str) -> None:
    # GOV.UK formats jsonschema's `{instance!r} is not of type 'object'` and deletes single quotes, so Python
    # spellings (None, True) reach clients; we keep them for compatibility.
    assert messages(schemas.POST_SMS, sms(personalisation=value)) == [f"personalisation {shown} is not of type object"]


def test_too_long() -> None:
    assert messages(schemas.POST_SMS, sms(reference="x" * 1001)) == [f"reference {'x' * 1001} is too long"]
    validate(schemas.POST_SMS, sms(reference="x" * 1000), formats=FORMATS)


def test_every_single_quote_is_deleted_even_inside_the_value() -> None:
    # repr("O'Brien…") uses double quotes; GOV.UK then deletes the apostrophe. Odd, but what clients see.
    value = "O'Brien " * 130
    assert messages(schemas.POST_SMS, sms(reference=value)) == [f'reference "{value.replace(chr(39), "")}" is too long']


def test_unknown_keys() -> None:
    assert messages(schemas.POST_SMS, sms(foo=1)) == ["Additional properties are not allowed (foo was unexpected)"]
    assert messages(schemas.POST_SMS, sms(foo=1, bar=2)) == [
        "Additional properties are not allowed (bar, foo were unexpected)"
    ]


def test_status_enum_lists_every_status_in_gov_uk_order() -> None:
    query = parse_query("status=elephant", schemas.GET_NOTIFICATIONS_QUERY)
    assert messages(schemas.GET_NOTIFICATIONS_QUERY, query) == [f"status elephant is not one of {STATUS_LIST}"]


def test_include_jobs_and_template_types() -> None:
    query = parse_query("include_jobs=yes&template_type=orange", schemas.GET_NOTIFICATIONS_QUERY)
    assert messages(schemas.GET_NOTIFICATIONS_QUERY, query) == [
        "template_type orange is not one of [sms, email, letter]",
        "include_jobs yes is not one of [true, True]",
    ]
    for allowed in ("true", "True"):
        validated_query(f"include_jobs={allowed}", schemas.GET_NOTIFICATIONS_QUERY)


def test_templates_type() -> None:
    with pytest.raises(errors.ValidationError) as caught:
        validated_query("type=postcard", schemas.GET_TEMPLATES_QUERY)
    assert caught.value.messages == ["type postcard is not one of [sms, email, letter]"]
    assert validated_query("type=sms", schemas.GET_TEMPLATES_QUERY) == {"type": "sms"}


@pytest.mark.parametrize(("number", "text"), PHONE_MESSAGES.items())
def test_phone_messages_are_the_validators_text(number: str, text: str) -> None:
    assert messages(schemas.POST_SMS, sms(phone_number=number)) == [f"phone_number {text}"]


def test_phone_message_keeps_the_en_dash() -> None:
    [message] = messages(schemas.POST_SMS, sms(phone_number="01632 96"))
    assert message == "phone_number Number is not valid \u2013 double check the phone number you entered"


def test_email_message() -> None:
    assert messages(schemas.POST_EMAIL, email(email_address="nope")) == ["email_address Not a valid email address"]


@pytest.mark.parametrize(
    "url", ["http://example.com/unsubscribe", "https://", "https//example.com", "https://exa mple.com", "ftp://x", 5]
)
def test_one_click_unsubscribe_url(url: Any) -> None:
    assert messages(schemas.POST_EMAIL, email(one_click_unsubscribe_url=url)) == [
        "one_click_unsubscribe_url is not a valid https url"
    ]
    validate(schemas.POST_EMAIL, email(one_click_unsubscribe_url="https://example.com/u?id=1"), formats=FORMATS)


# --- scheduled_for (§4.2, §18.2) ------------------------------------------------------------------------------------


def at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (at(-timedelta(seconds=1)), "scheduled_for datetime can not be in the past"),
        (at(timedelta(hours=24, seconds=1)), "scheduled_for datetime can only be 24 hours in the future"),
        (
            "next tuesday",
            "scheduled_for datetime format is invalid. It must be a valid ISO8601 date time format, "
            "https://en.wikipedia.org/wiki/ISO_8601",
        ),
        ("2024-05-17T13:00:00+05:00", "scheduled_for datetime can not be in the past"),  # 08:00 UTC
        (5, "scheduled_for 5 is not of type string, null"),
    ],
)
def test_scheduled_for_rules(value: Any, message: str) -> None:
    assert messages(schemas.POST_SMS, sms(scheduled_for=value)) == [message]


@pytest.mark.parametrize("value", [None, at(timedelta(hours=1)), at(timedelta(hours=24)), "2024-05-18T11:00:00"])
def test_scheduled_for_accepted(value: Any) -> None:
    validate(schemas.POST_EMAIL, email(scheduled_for=value), formats=FORMATS)


def test_scheduled_for_with_the_permission_uses_the_horizon_in_days() -> None:
    validate(schemas.POST_SMS, sms(scheduled_for=at(timedelta(days=6))), formats=FORMATS, schedule_days=7)
    assert messages(schemas.POST_SMS, sms(scheduled_for=at(timedelta(days=7, seconds=1))), schedule_days=7) == [
        "scheduled_for datetime can only be 7 days in the future"
    ]
    validate(schemas.POST_SMS, sms(scheduled_for=at(timedelta(days=2))), formats=FORMATS, schedule_days=3)


def test_parse_iso8601_naive_means_utc() -> None:
    assert parse_iso8601("2024-05-17T12:00:00") == NOW
    assert parse_iso8601("2024-05-17T13:00:00+01:00") == NOW


# --- several errors at once ---------------------------------------------------------------------------------------


def test_several_errors_in_one_response() -> None:
    assert messages(schemas.POST_SMS, {"template_id": "notUUID", "foo": 1}) == [
        "template_id is not a valid UUID",
        "phone_number is a required property",
        "Additional properties are not allowed (foo was unexpected)",
    ]


def test_duplicates_are_removed_in_first_seen_order() -> None:
    query = parse_query(
        "status=elephant&status=created&status=elephant&status=giraffe", schemas.GET_NOTIFICATIONS_QUERY
    )
    assert messages(schemas.GET_NOTIFICATIONS_QUERY, query) == [
        f"status elephant is not one of {STATUS_LIST}",
        f"status giraffe is not one of {STATUS_LIST}",
    ]


def test_error_items_render_in_the_v2_envelope() -> None:
    error = errors.ValidationError(["a is wrong", "b is wrong", "a is wrong"])
    assert error.items == [
        {"error": "ValidationError", "message": "a is wrong"},
        {"error": "ValidationError", "message": "b is wrong"},
    ]
    body = NotifyFamily().body(error, "request-id")
    assert body["status_code"] == 400
    assert body["errors"][0] == error.items[0]


# --- bodies and queries -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"not json", b"{'a': 1}", b"{", b"NaN", b"\xff", b"[" * 100 + b"]" * 100])
def test_invalid_json(body: bytes) -> None:
    with pytest.raises(errors.BadRequestError) as caught:
        parse_json_body(body)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (400, "BadRequestError", INVALID_JSON)


@pytest.mark.parametrize(
    ("body", "message"), [(b"[1, 2]", "[1, 2] is not of type object"), (b'"abc"', "abc is not of type object")]
)
def test_json_that_is_not_an_object_gets_the_type_message(body: bytes, message: str) -> None:
    with pytest.raises(errors.ValidationError) as caught:
        validated_body(body, schemas.POST_SMS, formats=FORMATS)
    assert caught.value.messages == [message]


def test_body_round_trip() -> None:
    assert validated_body(orjson.dumps(sms()), schemas.POST_SMS, formats=FORMATS) == sms()


def test_query_repeats_become_arrays_and_other_keys_take_the_first_value() -> None:
    query = "status=created&template_type=sms&status=sending&reference=a+b&reference=c&older_than=&x=1&x=2"
    assert parse_query(query, schemas.GET_NOTIFICATIONS_QUERY) == {
        "status": ["created", "sending"],
        "template_type": ["sms"],
        "reference": "a b",
        "older_than": "",
        "x": "1",
    }
    assert parse_query(b"status=delivered%2C", schemas.GET_NOTIFICATIONS_QUERY) == {"status": ["delivered,"]}


def test_received_text_messages_allow_only_older_than() -> None:
    validated_query(f"older_than={TEMPLATE_ID}", schemas.GET_RECEIVED_TEXT_MESSAGES_QUERY)
    with pytest.raises(errors.ValidationError) as caught:
        validated_query("page=2", schemas.GET_RECEIVED_TEXT_MESSAGES_QUERY)
    assert caught.value.messages == ["Additional properties are not allowed (page was unexpected)"]


def test_letter_bodies() -> None:
    letter = {"template_id": TEMPLATE_ID, "personalisation": {}}
    assert messages(schemas.POST_LETTER, letter) == ["personalisation address_line_1 is a required property"]
    assert messages(schemas.POST_PRECOMPILED_LETTER, {"content": "JVBERi0="}) == ["reference is a required property"]


def test_preview_ignores_extra_keys() -> None:
    validate(schemas.POST_TEMPLATE_PREVIEW, {"personalisation": {"a": 1}, "id": "whatever"}, formats=FORMATS)
    assert messages(schemas.POST_TEMPLATE_PREVIEW, {"personalisation": None}) == [
        "personalisation None is not of type object"
    ]


def test_manage_template_rules() -> None:
    template = {"name": "Reset", "type": "email", "body": "Hello"}
    assert messages(schemas.POST_MANAGE_TEMPLATE, template) == ["subject is a required property"]
    assert messages(schemas.POST_MANAGE_TEMPLATE, {**template, "type": "sms", "postage": "first"}) == [
        "postage is only for letter templates"
    ]
    validate(schemas.POST_MANAGE_TEMPLATE, {**template, "type": "letter", "subject": "S", "postage": "economy"})
    assert messages(schemas.PATCH_MANAGE_TEMPLATE, {"type": "sms"}) == [
        "Additional properties are not allowed (type was unexpected)"
    ]


def test_bulk_needs_exactly_one_of_rows_or_csv() -> None:
    job = {"name": "June reminders", "template_id": TEMPLATE_ID}
    expected = ["Exactly one of rows or csv must be given"]
    assert messages(schemas.POST_BULK, job) == expected
    assert messages(schemas.POST_BULK, {**job, "rows": [["phone number"]], "csv": "cGhvbmU="}) == expected
    validate(schemas.POST_BULK, {**job, "rows": [["phone number"], ["07700900123"]]}, formats=FORMATS)
    assert messages(schemas.POST_BULK, {**job, "rows": [["phone number"], "07700900123"]}) == [
        "rows must be a list of rows, each a list of cells"
    ]


def test_idempotency_key_format() -> None:
    assert idempotency_key(None) is None
    assert idempotency_key("") is None
    assert idempotency_key("a-Z-0" * 51) == "a-Z-0" * 51
    for bad in ("a" * 256, "has space", "ünï", "a\n"):
        with pytest.raises(errors.ValidationError):
            idempotency_key(bad)


# --- the schemas themselves and the error classes -----------------------------------------------------------------


@pytest.mark.parametrize("schema", [*schemas.POST_BODIES.values(), *schemas.LIST_QUERIES.values()])
def test_schemas_are_valid_draft_7_and_openapi_ready(schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(schema)
    openapi = orjson.dumps(schemas.openapi_request_body(schema)).decode()
    assert "validationMessage" not in openapi.replace("x-validationMessage", "")
    assert "$schema" not in openapi
    if schema is not schemas.POST_TEMPLATE_PREVIEW:  # spec §7: the preview ignores extra keys
        assert schema["additionalProperties"] is False


def test_openapi_query_parameters_repeat_arrays() -> None:
    parameters = schemas.openapi_query_parameters(schemas.GET_NOTIFICATIONS_QUERY)["parameters"]
    by_name = {parameter["name"]: parameter for parameter in parameters}
    assert by_name["status"]["explode"] is True
    assert "explode" not in by_name["older_than"]


@pytest.mark.parametrize(
    ("error_class", "status", "code"),
    [
        (errors.ValidationError, 400, "ValidationError"),
        (errors.BadRequestError, 400, "BadRequestError"),
        (errors.AuthError, 401, "AuthError"),
        (errors.RateLimitError, 429, "RateLimitError"),
        (errors.TooManyRequestsError, 429, "TooManyRequestsError"),
        (errors.PDFNotReadyError, 400, "PDFNotReadyError"),
        (errors.InvalidPhoneError, 400, "InvalidPhoneError"),
        (errors.InvalidEmailError, 400, "InvalidEmailError"),
        (errors.InvalidRecipientError, 400, "InvalidRecipientError"),
        (errors.NoResultFound, 404, "NoResultFound"),
    ],
)
def test_error_classes(error_class: type[ApiError], status: int, code: str) -> None:
    error = error_class()
    assert (error.status_code, error.code) == (status, code)


def test_error_texts() -> None:
    assert errors.NoResultFound().message == "No result found"
    assert errors.BadRequestError("Cannot send letters with a team api key", status_code=403).status_code == 403
    assert errors.RateLimitError.per_minute("normal", 3000).message == (
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"
    )
    assert errors.TooManyRequestsError.daily("sms", 250000).message == "Exceeded send limits (sms: 250000) for today"


def test_the_real_recipient_validators_are_wired() -> None:
    pytest.importorskip("services.notify.recipients.phone")
    pytest.importorskip("services.notify.recipients.email")
    with pytest.raises(errors.ValidationError) as caught:
        validate(schemas.POST_SMS, sms(phone_number="0770090"))
    assert caught.value.messages == ["phone_number Not enough digits"]
    with pytest.raises(errors.ValidationError) as caught:
        validate(schemas.POST_EMAIL, email(email_address="x@y.c"))
    assert caught.value.messages == ["email_address Not a valid email address"]


# --- never anything but a 400 -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
near_strings = st.sampled_from(
    [TEMPLATE_ID, "{" + TEMPLATE_ID + "}", "https://x.gov.uk", "true", "sms", "elephant", "", *PHONE_MESSAGES]
) | st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(datetime.isoformat)
all_schemas = [*schemas.POST_BODIES.values(), *schemas.LIST_QUERIES.values()]


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    schema = draw(st.sampled_from(all_schemas))
    keys = [*schema.get("properties", {}), "foo"]
    value = draw(st.dictionaries(st.sampled_from(keys), json_values | near_strings | st.lists(near_strings)))
    return schema, value


@settings(max_examples=400, deadline=None)
@given(case=near_valid() | st.tuples(st.sampled_from(all_schemas), json_values), days=st.sampled_from([None, 1, 7]))
def test_validate_raises_only_validation_error(case: tuple[dict[str, Any], Any], days: int | None) -> None:
    schema, value = case
    try:
        validate(schema, value, formats=FORMATS, schedule_days=days)
    except errors.ValidationError as error:
        assert error.messages and all(isinstance(text, str) and text for text in error.messages)
        orjson.dumps(error.items)  # renderable


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=64) | json_values.map(lambda value: json.dumps(value).encode()))
def test_body_parsing_raises_only_400s(body: bytes) -> None:
    try:
        validated_body(body, schemas.POST_EMAIL, formats=FORMATS)
    except (errors.BadRequestError, errors.ValidationError) as error:
        assert error.status_code == 400


def test_deep_values_do_not_crash_message_building() -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert messages(schemas.POST_SMS, sms(personalisation=deep)) == ["JSON is nested more than 64 levels deep"]
