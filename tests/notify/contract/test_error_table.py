"""Every error of notify spec §3.2, §4.2, §4.3, §10 and §11 that notify can give, through the gateway.

Each case checks the HTTP status and the whole `errors` list, text for text, with the official client where it can
make the request (its `HTTPError` carries `.status_code` and `.message`, the `errors` list) and raw httpx where it
cannot (no header, a foreign JWT, a non-JSON body). Cases that change the service restore it in `finally`: the rig is
shared by the whole session.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from notifications_python_client.authentication import create_jwt_token
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.notify.conftest import NotifyRig, change_service, manage

PERSONALISATION = {"name": "Ada", "date": "1 May", "urgent": "yes", "code": "123456"}
ADDRESS = {"address_line_1": "A. Citizen", "address_line_2": "1 High Street", "postcode": "SW1A 1AA"}
STRANGER_EMAIL = "stranger@example.com"
STRANGER_PHONE = "07700 900123"
SMOKE_PHONE = "07700900000"
SMOKE_EMAIL = "simulate-delivered@notifications.service.gov.uk"
TRIAL_MODE = "https://www.notifications.service.gov.uk/trial-mode"
GENERIC_TOKEN = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
NOT_FOUND_URL = (
    "The requested URL was not found on the server. If you entered the URL manually please check your spelling and "
    "try again."
)
#: GOV.UK's NOTIFICATION_STATUS_TYPES, then `accepted` and `received`: the list printed in the enum message.
STATUS_LIST = (
    "cancelled, created, sending, sent, delivered, pending, failed, technical-failure, temporary-failure, "
    "permanent-failure, pending-virus-check, validation-failed, virus-scan-failed, returned-letter, accepted, received"
)
LIVE_PERMISSIONS = ["email", "sms", "letter", "international_sms"]

Item = tuple[str, str] | dict[str, Any]


# --- helpers ------------------------------------------------------------------------------------------------------


def client(rig: NotifyRig, key: str = "live") -> NotificationsAPIClient:
    return NotificationsAPIClient(rig.keys[key], base_url=rig.url)


def items(*expected: Item) -> list[dict[str, Any]]:
    return [item if isinstance(item, dict) else {"error": item[0], "message": item[1]} for item in expected]


def envelope(status: int, *expected: Item) -> dict[str, Any]:
    return {"status_code": status, "errors": items(*expected)}


def refused(call: Callable[[], object], status: int, *expected: Item) -> None:
    """The official client raises `HTTPError` with this status and exactly these `errors` items."""
    with pytest.raises(HTTPError) as raised:
        call()
    assert (raised.value.status_code, raised.value.message) == (status, items(*expected))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + create_jwt_token(key[-36:], key[-73:-37])}


def raw(rig: NotifyRig, method: str, path: str, *, key: str | None = "live", **kwargs: Any) -> httpx.Response:
    headers = {**(bearer(rig.keys[key]) if key else {}), **kwargs.pop("headers", {})}
    return httpx.request(method, rig.url + path, headers=headers, timeout=30, **kwargs)


def answered(response: httpx.Response, status: int, *expected: Item) -> None:
    assert (response.status_code, response.json()) == (status, envelope(status, *expected)), response.text


def sms(rig: NotifyRig, **fields: Any) -> dict[str, Any]:
    return {
        "phone_number": STRANGER_PHONE,
        "template_id": rig.templates["sms"],
        "personalisation": PERSONALISATION,
    } | fields


def email(rig: NotifyRig, **fields: Any) -> dict[str, Any]:
    return {
        "email_address": STRANGER_EMAIL,
        "template_id": rig.templates["email"],
        "personalisation": PERSONALISATION,
    } | fields


def letter(rig: NotifyRig, **fields: Any) -> dict[str, Any]:
    return {"template_id": rig.templates["letter"], "personalisation": {"name": "Ada", **ADDRESS}} | fields


def settled(rig: NotifyRig) -> float:
    """Wait until notify answers again, and return how long that took.

    An unhandled error (a bug) blocks the rig's notify for several seconds while it logs the traceback (the dev console
    renderer, with locals), so the gateway's 1 s upstream timeout answers 504 and the requests after it time out too.
    A test that may trigger one calls this, so that the next test does not inherit the stall."""
    start = time.monotonic()
    while time.monotonic() - start < 30:
        if raw(rig, "GET", "/v2/templates?type=letter").status_code == 200:
            break
    return time.monotonic() - start


def sent_today(rig: NotifyRig, channel: str) -> int:
    return int(raw(rig, "GET", "/v2/limits").json()["daily"][channel]["sent_today"])


@pytest.fixture(scope="module")
def extra(notify_rig: NotifyRig) -> dict[str, str]:
    """Templates the rig does not have, made through notify's template API."""
    bodies = {
        "sms_body": {"name": "Error table: sms body", "type": "sms", "body": "((body))"},
        "email_body": {"name": "Error table: email body", "type": "email", "subject": "Hi", "body": "((body))"},
        "letter_address": {
            "name": "Error table: letter with address placeholders",
            "type": "letter",
            "subject": "About ((address line 1))",
            "body": "Dear ((name)),\n\nWe wrote to ((address_line_2)), ((Postcode)).",
        },
        "letter_qr": {
            "name": "Error table: letter with a QR code",
            "type": "letter",
            "subject": "QR",
            "body": "qr: ((link))",
        },
    }
    made: dict[str, str] = {}
    with manage(notify_rig.url, notify_rig.keys["manage"]) as api:
        for label, body in bodies.items():
            created = api.post("/v2/manage-template", json=body)
            assert created.status_code == 201, created.text
            made[label] = created.json()["id"]
    return made


@pytest.fixture
def pushed(notify_rig: NotifyRig) -> Iterator[Callable[..., None]]:
    """Push notify settings (and other service changes) for one test; the service is restored afterwards."""
    changed: dict[str, bool] = {}

    def push(**changes: Any) -> None:
        change_service(notify_rig, **changes)
        changed["yes"] = True

    try:
        yield push
    finally:
        if changed:
            change_service(notify_rig, settings={"notify": {}})


# --- §3.2 authentication, answered by the gateway -----------------------------------------------------------------


def _token(secret: str, *, algorithm: str = "HS256", **claims: Any) -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_auth_texts_through_the_gateway(notify_rig: NotifyRig) -> None:
    service = str(notify_rig.service_id)
    secret = notify_rig.keys["live"][-36:]
    now = int(time.time())
    cases: list[tuple[dict[str, str], int, str]] = [
        ({}, 401, "Unauthorized: authentication token must be provided"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "Unauthorized: authentication bearer scheme must be used"),
        ({"Authorization": "Bearer not-a-jwt"}, 403, GENERIC_TOKEN),
        ({"Authorization": "Bearer " + _token(secret, iat=now)}, 403, "Invalid token: iss field not provided"),
        (
            {"Authorization": "Bearer " + _token(secret, iss="not-a-uuid", iat=now)},
            403,
            "Invalid token: service id is not the right data type",
        ),
        (
            {"Authorization": "Bearer " + _token(secret, iss=str(uuid.uuid4()), iat=now)},
            403,
            "Invalid token: service not found",
        ),
        (
            {"Authorization": "Bearer " + _token(secret * 2, algorithm="HS512", iss=service, iat=now)},
            403,
            "Invalid token: algorithm used is not HS256",
        ),
        (
            {"Authorization": "Bearer " + _token(secret, iss=service, iat=now - 120)},
            403,
            "Error: Your system clock must be accurate to within 30 seconds",
        ),
        (
            {"Authorization": "Bearer " + _token(str(uuid.uuid4()), iss=service, iat=now)},
            403,
            "Invalid token: API key not found",
        ),
    ]
    for headers, status, message in cases:
        for method, path in [("POST", "/v2/notifications/sms"), ("GET", "/v2/notifications")]:
            response = raw(notify_rig, method, path, key=None, headers=headers, json=sms(notify_rig))
            answered(response, status, ("AuthError", message))


def test_auth_texts_with_the_official_client(notify_rig: NotifyRig) -> None:
    wrong_secret = notify_rig.keys["live"][:-36] + str(uuid.uuid4())
    refused(
        lambda: NotificationsAPIClient(wrong_secret, base_url=notify_rig.url).get_all_templates(),
        403,
        ("AuthError", "Invalid token: API key not found"),
    )
    unknown_service = f"name-{uuid.uuid4()}-{uuid.uuid4()}"
    refused(
        lambda: NotificationsAPIClient(unknown_service, base_url=notify_rig.url).send_sms_notification(
            STRANGER_PHONE, notify_rig.templates["sms"]
        ),
        403,
        ("AuthError", "Invalid token: service not found"),
    )


# --- framework errors: notify's `{"result": "error"}` bodies ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/v2/no-such-thing", 404, NOT_FOUND_URL),
        ("GET", "/v2/template/{email}/version/latest", 404, NOT_FOUND_URL),
        ("GET", "/v2/template/{email}/version/-1", 404, NOT_FOUND_URL),
        ("PUT", "/v2/notifications/sms", 405, "The method is not allowed for the requested URL."),
        ("DELETE", "/v2/notifications/{uuid}", 405, "The method is not allowed for the requested URL."),
        ("PATCH", "/v2/template/{email}", 405, "The method is not allowed for the requested URL."),
    ],
)
def test_framework_errors(notify_rig: NotifyRig, method: str, path: str, status: int, message: str) -> None:
    url = path.format(email=notify_rig.templates["email"], uuid=uuid.uuid4())
    response = raw(notify_rig, method, url, json={})
    assert (response.status_code, response.json()) == (status, {"result": "error", "message": message})


# --- §4.2 schema messages -----------------------------------------------------------------------------------------


def test_invalid_json(notify_rig: NotifyRig) -> None:
    # Strict RFC 8259: `NaN`, a lone surrogate and bytes that are not UTF-8 are not JSON either (spec §2).
    for body in [b"not json", b"{", b'{"a": NaN}', b"", b'{"phone_number": "\\ud83d"}', b"\xff"]:
        response = raw(notify_rig, "POST", "/v2/notifications/sms", content=body)
        answered(response, 400, ("BadRequestError", "Invalid JSON supplied in POST data"))


def test_missing_fields(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    refused(
        lambda: api.post("/v2/notifications/sms", {"phone_number": STRANGER_PHONE}),
        400,
        ("ValidationError", "template_id is a required property"),
    )
    refused(
        lambda: api.post("/v2/notifications/sms", {}),
        400,
        ("ValidationError", "phone_number is a required property"),
        ("ValidationError", "template_id is a required property"),
    )
    refused(
        lambda: api.post("/v2/notifications/email", {"template_id": notify_rig.templates["email"]}),
        400,
        ("ValidationError", "email_address is a required property"),
    )
    refused(
        lambda: api.post("/v2/notifications/letter", {"template_id": notify_rig.templates["letter"]}),
        400,
        ("ValidationError", "personalisation is a required property"),
    )
    refused(
        lambda: api.send_letter_notification(notify_rig.templates["letter"], {"name": "Ada"}),
        400,
        ("ValidationError", "personalisation address_line_1 is a required property"),
    )


def test_bad_uuids(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, "not-a-uuid"),
        400,
        ("ValidationError", "template_id is not a valid UUID"),
    )
    # `validationMessage` replaces jsonschema's text whatever is wrong, the type included (GOV.UK's quirk).
    refused(
        lambda: api.post("/v2/notifications/sms", sms(notify_rig, template_id=123)),
        400,
        ("ValidationError", "template_id is not a valid UUID"),
    )
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], sms_sender_id="nope"),
        400,
        ("ValidationError", "sms_sender_id is not a valid UUID"),
    )
    refused(
        lambda: api.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], email_reply_to_id="nope"),
        400,
        ("ValidationError", "email_reply_to_id is not a valid UUID"),
    )
    refused(lambda: api.get_notification_by_id("nope"), 400, ("ValidationError", "notification_id is not a valid UUID"))
    refused(
        lambda: api.get_all_notifications(older_than="nope"), 400, ("ValidationError", "older_than is not a valid UUID")
    )
    refused(
        lambda: api.get_received_texts(older_than="nope"), 400, ("ValidationError", "older_than is not a valid UUID")
    )
    refused(lambda: api.get_template("nope"), 400, ("ValidationError", "id is not a valid UUID"))
    refused(lambda: api.get_template_version("nope", 1), 400, ("ValidationError", "id is not a valid UUID"))
    refused(lambda: api.post_template_preview("nope", {}), 400, ("ValidationError", "id is not a valid UUID"))


def test_wrong_types(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], personalisation="x"),
        400,
        ("ValidationError", "personalisation x is not of type object"),
    )
    refused(
        lambda: api.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], personalisation=[1, 2]),
        400,
        ("ValidationError", "personalisation [1, 2] is not of type object"),
    )
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], reference=123),
        400,
        ("ValidationError", "reference 123 is not of type string"),
    )
    refused(
        lambda: api.send_sms_notification(7700900123, notify_rig.templates["sms"]),
        400,
        ("ValidationError", "phone_number 7700900123 is not of type string"),
    )
    refused(
        lambda: api.send_email_notification(
            STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION, sanitise_content_for="name"
        ),
        400,
        ("ValidationError", "sanitise_content_for name is not of type array, null"),
    )
    refused(lambda: api.post("/v2/notifications/sms", [1, 2]), 400, ("ValidationError", "[1, 2] is not of type object"))
    refused(
        lambda: api.post_template_preview(notify_rig.templates["sms"], "x"),
        400,
        ("ValidationError", "personalisation x is not of type object"),
    )


def test_reference_too_long(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    reference = "r" * 1001
    for call in [
        lambda: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION, reference),
        lambda: api.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION, reference),
        lambda: api.send_letter_notification(notify_rig.templates["letter"], {"name": "Ada", **ADDRESS}, reference),
    ]:
        refused(call, 400, ("ValidationError", f"reference {reference} is too long"))
    # 1000 characters is the limit, not over it (a smoke-test number: nothing is stored).
    assert api.send_sms_notification(SMOKE_PHONE, notify_rig.templates["sms"], PERSONALISATION, "r" * 1000)["id"]


def test_additional_properties(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    refused(
        lambda: api.post("/v2/notifications/sms", sms(notify_rig, foo="bar")),
        400,
        ("ValidationError", "Additional properties are not allowed (foo was unexpected)"),
    )
    refused(
        lambda: api.post("/v2/notifications/email", email(notify_rig, email_reply_to="x@example.com")),
        400,
        ("ValidationError", "Additional properties are not allowed (email_reply_to was unexpected)"),
    )
    refused(
        lambda: api.post("/v2/notifications/letter", letter(notify_rig, postage="first")),
        400,
        ("ValidationError", "Additional properties are not allowed (postage was unexpected)"),
    )
    refused(
        lambda: api.get("/v2/notifications", params={"foo": "bar"}),
        400,
        ("ValidationError", "Additional properties are not allowed (foo was unexpected)"),
    )
    refused(
        lambda: api.get("/v2/received-text-messages", params={"page": "2"}),
        400,
        ("ValidationError", "Additional properties are not allowed (page was unexpected)"),
    )
    refused(
        lambda: api.get("/v2/templates", params={"template_type": "sms"}),
        400,
        ("ValidationError", "Additional properties are not allowed (template_type was unexpected)"),
    )


def test_enums_in_list_queries(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    refused(
        lambda: api.get_all_notifications(status="elephant"),
        400,
        ("ValidationError", f"status elephant is not one of [{STATUS_LIST}]"),
    )
    refused(
        lambda: api.get_all_notifications(template_type="fax"),
        400,
        ("ValidationError", "template_type fax is not one of [sms, email, letter]"),
    )
    refused(
        lambda: api.get_all_notifications(include_jobs="yes"),
        400,
        ("ValidationError", "include_jobs yes is not one of [true, True]"),
    )
    refused(
        lambda: api.get_all_templates("fax"), 400, ("ValidationError", "type fax is not one of [sms, email, letter]")
    )
    # Repeated values are each checked; one message per distinct value.
    refused(
        lambda: api.get("/v2/notifications", params=[("status", "delivered"), ("status", "x"), ("status", "x")]),
        400,
        ("ValidationError", f"status x is not one of [{STATUS_LIST}]"),
    )


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("0770", "Not enough digits"),
        ("", "Not enough digits"),
        ("+447700900123456789", "Too many digits"),
        ("07700 90012a", "Must not contain letters or symbols"),
        ("24741111", "Not a valid country prefix"),
        ("09001234567", "Number is not valid \u2013 double check the phone number you entered"),
        ("999", "Phone number cannot be an emergency number"),
    ],
)
def test_phone_number_messages(notify_rig: NotifyRig, number: str, message: str) -> None:
    refused(
        lambda: client(notify_rig).send_sms_notification(number, notify_rig.templates["sms"], PERSONALISATION),
        400,
        ("ValidationError", f"phone_number {message}"),
    )


@pytest.mark.parametrize("address", ["not an email", "a@b", "x@y.c", "a..b@example.com", "a b@example.com", "@x.com"])
def test_email_address_message(notify_rig: NotifyRig, address: str) -> None:
    refused(
        lambda: client(notify_rig).send_email_notification(address, notify_rig.templates["email"], PERSONALISATION),
        400,
        ("ValidationError", "email_address Not a valid email address"),
    )


@pytest.mark.parametrize("url", ["http://example.com/unsubscribe", "example.com", "https://", "https://exa mple.com"])
def test_https_url_message(notify_rig: NotifyRig, url: str) -> None:
    # The schema has both a pattern and a format under one `validationMessage`: one item, duplicates removed.
    refused(
        lambda: client(notify_rig).send_email_notification(
            STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION, one_click_unsubscribe_url=url
        ),
        400,
        ("ValidationError", "one_click_unsubscribe_url is not a valid https url"),
    )


def test_scheduled_for_messages(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    now = datetime.now(UTC)
    cases = [
        ((now - timedelta(hours=1)).isoformat(), "scheduled_for datetime can not be in the past"),
        ((now + timedelta(hours=25)).isoformat(), "scheduled_for datetime can only be 24 hours in the future"),
        (
            "next tuesday",
            "scheduled_for datetime format is invalid. "
            "It must be a valid ISO8601 date time format, https://en.wikipedia.org/wiki/ISO_8601",
        ),
    ]
    for value, message in cases:
        for path, body in [
            ("/v2/notifications/sms", sms(notify_rig, scheduled_for=value)),
            ("/v2/notifications/email", email(notify_rig, scheduled_for=value)),
        ]:
            refused(lambda path=path, body=body: api.post(path, body), 400, ("ValidationError", message))


def test_scheduled_for_with_the_schedule_permission(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    pushed(settings={"notify": {"permissions": [*LIVE_PERMISSIONS, "schedule_notifications"]}})
    api = client(notify_rig)
    now = datetime.now(UTC)
    for value, message in [
        ((now + timedelta(days=8)).isoformat(), "scheduled_for datetime can only be 7 days in the future"),
        ((now - timedelta(minutes=5)).isoformat(), "scheduled_for datetime can not be in the past"),
    ]:
        refused(
            lambda value=value: api.post("/v2/notifications/sms", sms(notify_rig, scheduled_for=value)),
            400,
            ("ValidationError", message),
        )


def test_several_schema_messages_at_once(notify_rig: NotifyRig) -> None:
    refused(
        lambda: client(notify_rig).post(
            "/v2/notifications/sms", {"phone_number": "0770", "template_id": "x", "reference": 1, "foo": 1}
        ),
        400,
        ("ValidationError", "reference 1 is not of type string"),
        ("ValidationError", "phone_number Not enough digits"),
        ("ValidationError", "template_id is not a valid UUID"),
        ("ValidationError", "Additional properties are not allowed (foo was unexpected)"),
    )


# --- §4.3 business rules: templates -------------------------------------------------------------------------------


def test_template_not_found(notify_rig: NotifyRig, trial_rig: NotifyRig) -> None:
    api = client(notify_rig)
    unknown = str(uuid.uuid4())
    refused(lambda: api.send_sms_notification(STRANGER_PHONE, unknown), 400, ("BadRequestError", "Template not found"))
    refused(
        lambda: api.send_email_notification(STRANGER_EMAIL, unknown), 400, ("BadRequestError", "Template not found")
    )
    refused(
        lambda: api.send_letter_notification(unknown, {"name": "x", **ADDRESS}),
        400,
        ("BadRequestError", "Template not found"),
    )
    # Another service's template is not found either.
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, trial_rig.templates["sms"], PERSONALISATION),
        400,
        ("BadRequestError", "Template not found"),
    )


def test_template_not_suitable(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    templates = notify_rig.templates
    for call, message in [
        (
            lambda: api.send_sms_notification(STRANGER_PHONE, templates["email"], PERSONALISATION),
            "email template is not suitable for sms notification",
        ),
        (
            lambda: api.send_sms_notification(STRANGER_PHONE, templates["letter"], PERSONALISATION),
            "letter template is not suitable for sms notification",
        ),
        (
            lambda: api.send_email_notification(STRANGER_EMAIL, templates["sms"], PERSONALISATION),
            "sms template is not suitable for email notification",
        ),
        (
            lambda: api.send_letter_notification(templates["email"], {"name": "x", **ADDRESS}),
            "email template is not suitable for letter notification",
        ),
    ]:
        refused(call, 400, ("BadRequestError", message))


def test_template_has_been_deleted(notify_rig: NotifyRig) -> None:
    with manage(notify_rig.url, notify_rig.keys["manage"]) as admin:
        made = admin.post("/v2/manage-template", json={"name": "Error table: doomed", "type": "sms", "body": "Hi"})
        assert made.status_code == 201, made.text
        template_id = made.json()["id"]
        assert admin.delete(f"/v2/manage-template/{template_id}").status_code == 204
    api = client(notify_rig)
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, template_id),
        400,
        ("BadRequestError", "Template has been deleted"),
    )
    # The type is checked before the archive flag (§5.1 step 4).
    refused(
        lambda: api.send_email_notification(STRANGER_EMAIL, template_id),
        400,
        ("BadRequestError", "sms template is not suitable for email notification"),
    )


def test_missing_personalisation(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    api = client(notify_rig)
    templates = notify_rig.templates
    # Subject first, then body, each name once, in order of appearance.
    refused(
        lambda: api.send_email_notification(STRANGER_EMAIL, templates["email"]),
        400,
        ("BadRequestError", "Missing personalisation: date, name, urgent"),
    )
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, templates["sms"], {"code": "1", "name": None}),
        400,
        ("BadRequestError", "Missing personalisation: name"),
    )
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, templates["sms"], {"unrelated": "x"}),
        400,
        ("BadRequestError", "Missing personalisation: name, code"),
    )
    # Letters: address placeholders are the address rules' business, not this check's.
    refused(
        lambda: api.send_letter_notification(extra["letter_address"], {"address_line_1": "A. Citizen"}),
        400,
        ("BadRequestError", "Missing personalisation: name"),
    )
    # The template step comes before the address rules (§5.1 step 4, §5.4).
    refused(
        lambda: api.send_letter_notification(templates["letter"], {"address_line_1": "A. Citizen"}),
        400,
        ("BadRequestError", "Missing personalisation: name"),
    )
    refused(
        lambda: api.post_template_preview(templates["sms"], {"name": "Ada"}),
        400,
        ("BadRequestError", "Missing personalisation: code"),
    )
    refused(
        lambda: api.post_template_preview(templates["email"], {}),
        400,
        ("BadRequestError", "Missing personalisation: date, name, urgent"),
    )


def test_message_is_empty(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    api = client(notify_rig)
    for value in ["", "   ", "\n\n"]:
        refused(
            lambda value=value: api.send_sms_notification(STRANGER_PHONE, extra["sms_body"], {"body": value}),
            400,
            ("BadRequestError", "Your message is empty."),
        )
        refused(
            lambda value=value: api.send_email_notification(STRANGER_EMAIL, extra["email_body"], {"body": value}),
            400,
            ("BadRequestError", "Your message is empty."),
        )


def test_sms_too_long(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    api = client(notify_rig)
    assert api.send_sms_notification(SMOKE_PHONE, extra["sms_body"], {"body": "x" * 918})["id"]
    for body, count in [("x" * 919, 919), ("\u0175" * 1000, 1000), ("y" * 5000, 5000)]:
        refused(
            lambda body=body: api.send_sms_notification(SMOKE_PHONE, extra["sms_body"], {"body": body}),
            400,
            (
                "BadRequestError",
                "Your message is too long. Text messages cannot be longer than 918 characters. "
                f"Your message is {count} characters long.",
            ),
        )


def test_email_too_long(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    # 1,000,000 two-byte characters and one more: 2,000,001 bytes of message.
    refused(
        lambda: client(notify_rig).send_email_notification(
            SMOKE_EMAIL, extra["email_body"], {"body": "\u00e9" * 1_000_000 + "x"}
        ),
        400,
        (
            "BadRequestError",
            "Your message is too long. Emails cannot be longer than 2000000 bytes. Your message is 2000001 bytes.",
        ),
    )


def test_email_of_exactly_the_limit_is_accepted(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    api = client(notify_rig)
    assert api.send_email_notification(SMOKE_EMAIL, extra["email_body"], {"body": "a" * 2_000_000})["id"]
    refused(
        lambda: api.send_email_notification(SMOKE_EMAIL, extra["email_body"], {"body": "a" * 2_000_001}),
        400,
        (
            "BadRequestError",
            "Your message is too long. Emails cannot be longer than 2000000 bytes. Your message is 2000001 bytes.",
        ),
    )


# --- §4.3 business rules: the service -----------------------------------------------------------------------------


def test_service_not_allowed_to_send(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    pushed(settings={"notify": {"permissions": []}})
    api = client(notify_rig)
    unknown = str(uuid.uuid4())
    for key in ["live", "test"]:
        api = client(notify_rig, key)
        refused(
            lambda api=api: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION),
            400,
            ("BadRequestError", "Service is not allowed to send text messages"),
        )
        refused(
            lambda api=api: api.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION),
            400,
            ("BadRequestError", "Service is not allowed to send emails"),
        )
        refused(
            lambda api=api: api.send_letter_notification(notify_rig.templates["letter"], {"name": "x", **ADDRESS}),
            400,
            ("BadRequestError", "Service is not allowed to send letters"),
        )
    # §5.1: after the schema (step 2), before the template (step 4).
    refused(
        lambda: api.send_sms_notification("0770", unknown),
        400,
        ("ValidationError", "phone_number Not enough digits"),
    )
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, unknown),
        400,
        ("BadRequestError", "Service is not allowed to send text messages"),
    )


def test_unknown_sms_sender_and_reply_to(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    sender, reply_to = str(uuid.uuid4()), str(uuid.uuid4())
    refused(
        lambda: api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION, None, sender),
        400,
        (
            "BadRequestError",
            f"sms_sender_id {sender} does not exist in database for service id {notify_rig.service_id}",
        ),
    )
    refused(
        lambda: api.send_email_notification(
            STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION, email_reply_to_id=reply_to
        ),
        400,
        (
            "BadRequestError",
            f"email_reply_to_id {reply_to} does not exist in database for service id {notify_rig.service_id}",
        ),
    )


def test_international_and_landline_numbers(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    api = client(notify_rig)
    # Without `sms_to_uk_landlines` (the default), a UK landline, or a Crown-dependency landline, is refused.
    for number in ["020 7946 0000", "+44 1534 456789"]:
        refused(
            lambda number=number: api.send_sms_notification(number, notify_rig.templates["sms"], PERSONALISATION),
            400,
            ("InvalidPhoneError", "Not a UK mobile number"),
        )
    pushed(settings={"notify": {"permissions": ["email", "sms", "letter"]}})
    for number in ["+33 6 12 34 56 78", "+44 1534 456789", "+1 939 555 0123"]:
        refused(
            lambda number=number: api.send_sms_notification(number, notify_rig.templates["sms"], PERSONALISATION),
            400,
            ("BadRequestError", "Cannot send to international mobile numbers"),
        )


def test_team_key_recipients(notify_rig: NotifyRig) -> None:
    team = client(notify_rig, "team")
    message = ("BadRequestError", "Can\u2019t send to this recipient using a team-only API key")
    refused(
        lambda: team.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION),
        400,
        message,
    )
    refused(
        lambda: team.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION), 400, message
    )
    # The team member's phone, however it is written, is allowed.
    assert team.send_sms_notification("+44 7700 900456", notify_rig.templates["sms"], PERSONALISATION)["id"]


def test_trial_mode_recipients(trial_rig: NotifyRig) -> None:
    message = (
        "BadRequestError",
        f"Can\u2019t send to this recipient when service is in trial mode \u2013 see {TRIAL_MODE}",
    )
    live = client(trial_rig)
    refused(
        lambda: live.send_email_notification(STRANGER_EMAIL, trial_rig.templates["email"], PERSONALISATION),
        400,
        message,
    )
    refused(
        lambda: live.send_sms_notification(STRANGER_PHONE, trial_rig.templates["sms"], PERSONALISATION), 400, message
    )
    # A team key on a trial service gets the team-key text.
    refused(
        lambda: client(trial_rig, "team").send_sms_notification(
            STRANGER_PHONE, trial_rig.templates["sms"], PERSONALISATION
        ),
        400,
        ("BadRequestError", "Can\u2019t send to this recipient using a team-only API key"),
    )
    # The team is reachable; a test key reaches anyone.
    assert live.send_email_notification("Trial-Team@example.gov.uk", trial_rig.templates["email"], PERSONALISATION)
    assert client(trial_rig, "test").send_sms_notification(STRANGER_PHONE, trial_rig.templates["sms"], PERSONALISATION)


def test_letter_key_rules(notify_rig: NotifyRig, trial_rig: NotifyRig) -> None:
    team_message = ("BadRequestError", "Cannot send letters with a team api key")
    trial_message = ("BadRequestError", "Cannot send letters when service is in trial mode")
    for rig in [notify_rig, trial_rig]:
        team = client(rig, "team")
        refused(
            lambda team=team, rig=rig: team.send_letter_notification(
                rig.templates["letter"], letter(rig)["personalisation"]
            ),
            403,
            team_message,
        )
        # Key checks come first, even before the schema (§5.4).
        refused(lambda team=team: team.post("/v2/notifications/letter", {"foo": 1}), 403, team_message)
    live = client(trial_rig)
    refused(
        lambda: live.send_letter_notification(trial_rig.templates["letter"], letter(trial_rig)["personalisation"]),
        403,
        trial_message,
    )
    refused(lambda: live.post("/v2/notifications/letter", {}), 403, trial_message)
    # A test key may send letters in trial mode.
    assert client(trial_rig, "test").send_letter_notification(
        trial_rig.templates["letter"], letter(trial_rig)["personalisation"]
    )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ({"address_line_1": "A. Citizen", "address_line_2": "SW1A 1AA"}, "Address must be at least 3 lines"),
        ({"address_line_1": "A. Citizen", "postcode": "SW1A 1AA"}, "Address must be at least 3 lines"),
        (
            {"address_line_1": "1\n2\n3\n4\n5\n6", "address_line_2": "7", "postcode": "SW1A 1AA"},
            "Address must be no more than 7 lines",
        ),
        (
            {"address_line_1": "...", "address_line_2": "1 High Street", "postcode": "SW1A 1AA"},
            "The first 2 lines of the address must both include at least one alphanumeric character",
        ),
        (
            {"address_line_1": "Sgt A", "address_line_2": "Unit 1", "address_line_3": "BFPO 105", "postcode": "France"},
            "The last line of a BFPO address must not be a country.",
        ),
        (
            {"address_line_1": "A. Citizen", "address_line_2": "1 High Street", "postcode": "Narnia"},
            "Must be a real UK postcode",
        ),
        ({**ADDRESS, "address_line_2": "1 Rue X", "postcode": "France"}, "Must be a real UK postcode"),
        (
            {**ADDRESS, "address_line_2": "(Flat 1)"},
            "Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >",
        ),
        (
            {**ADDRESS, "address_line_2": '"The Grange"'},
            "Address lines must not start with any of the following characters: @ ( ) = [ ] \u201d \\ / , < >",
        ),
        ({**ADDRESS, "address_line_2": "NFA"}, "Must be a real address"),
        ({**ADDRESS, "address_line_2": "No fixed abode"}, "Must be a real address"),
    ],
)
def test_address_rules(notify_rig: NotifyRig, address: dict[str, str], message: str) -> None:
    refused(
        lambda: client(notify_rig).send_letter_notification(notify_rig.templates["letter"], {"name": "Ada", **address}),
        400,
        ("ValidationError", message),
    )


def test_address_rules_with_international_letters(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    pushed(settings={"notify": {"permissions": [*LIVE_PERMISSIONS, "international_letters"]}})
    api = client(notify_rig, "test")
    refused(
        lambda: api.send_letter_notification(
            notify_rig.templates["letter"], {"name": "Ada", **ADDRESS, "postcode": "Narnia"}
        ),
        400,
        ("ValidationError", "Last line of address must be a real UK postcode or another country"),
    )
    assert api.send_letter_notification(
        notify_rig.templates["letter"], {"name": "Ada", **ADDRESS, "postcode": "France"}
    )


def test_qr_code_too_long(notify_rig: NotifyRig, extra: dict[str, str]) -> None:
    link = "https://example.com/" + "q" * 580
    refused(
        lambda: client(notify_rig, "test").send_letter_notification(extra["letter_qr"], {"link": link, **ADDRESS}),
        400,
        {
            "error": "ValidationError",
            "message": "Cannot create a usable QR code - the link is too long",
            "data": link,
            "num_bytes": 600,
            "max_bytes": 504,
        },
    )


def test_precompiled_letter_checks(notify_rig: NotifyRig, trial_rig: NotifyRig) -> None:
    pdf = "JVBERi0xLjQK"  # "%PDF-1.4\n"
    team = client(notify_rig, "team")
    refused(
        lambda: team.post("/v2/notifications/letter", {"reference": "r", "content": pdf}),
        403,
        ("BadRequestError", "Cannot send letters with a team api key"),
    )
    refused(
        lambda: client(trial_rig).post("/v2/notifications/letter", {"reference": "r", "content": pdf}),
        403,
        ("BadRequestError", "Cannot send letters when service is in trial mode"),
    )
    api = client(notify_rig)
    refused(
        lambda: api.post("/v2/notifications/letter", {"content": pdf}),
        400,
        ("ValidationError", "reference is a required property"),
    )
    refused(
        lambda: api.post("/v2/notifications/letter", {"reference": "r", "content": 1, "postage": 2}),
        400,
        ("ValidationError", "content 1 is not of type string"),
        ("ValidationError", "postage 2 is not of type string"),
    )
    refused(
        lambda: api.post("/v2/notifications/letter", {"reference": "r", "content": pdf, "foo": 1}),
        400,
        ("ValidationError", "Additional properties are not allowed (foo was unexpected)"),
    )


def test_precompiled_letter_messages(notify_rig: NotifyRig) -> None:
    api = client(notify_rig, "test")
    refused(
        lambda: api.post(
            "/v2/notifications/letter", {"reference": "r", "content": "JVBERi0xLjQK", "postage": "fourth"}
        ),
        400,
        ("BadRequestError", "postage invalid. It must be either first, second or economy."),
    )
    refused(
        lambda: api.post("/v2/notifications/letter", {"reference": "r", "content": "not base64!"}),
        400,
        ("BadRequestError", "Cannot decode letter content (invalid base64 encoding)"),
    )


def test_letter_pdf_errors(notify_rig: NotifyRig) -> None:
    api = client(notify_rig, "test")
    text = api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION)
    refused(lambda: api.get_pdf_for_letter(text["id"]), 400, ("BadRequestError", "Notification is not a letter"))
    refused(lambda: api.get_pdf_for_letter("nope"), 400, ("ValidationError", "notification_id is not a valid UUID"))
    refused(lambda: api.get_pdf_for_letter(str(uuid.uuid4())), 404, ("NoResultFound", "No result found"))
    # A precompiled letter waits for its virus scan (no worker runs in the rig).
    pending = api.post("/v2/notifications/letter", {"reference": "pdf-not-ready", "content": "JVBERi0xLjQK"})
    refused(
        lambda: api.get_pdf_for_letter(pending["id"]),
        400,
        ("PDFNotReadyError", "PDF not available yet, try again later"),
    )


def test_cancel_errors(notify_rig: NotifyRig) -> None:
    api = client(notify_rig, "test")
    refused(
        lambda: api.post("/v2/notifications/nope/cancel", None),
        400,
        ("ValidationError", "notification_id is not a valid UUID"),
    )
    refused(
        lambda: api.post(f"/v2/notifications/{uuid.uuid4()}/cancel", None),
        404,
        ("NoResultFound", "No result found"),
    )
    sent = api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION)
    refused(
        lambda: api.post(f"/v2/notifications/{sent['id']}/cancel", None),
        400,
        (
            "BadRequestError",
            "Notification cannot be cancelled - only scheduled notifications that have not been sent yet can be "
            "cancelled",
        ),
    )


# --- §6, §7: lookups that miss ------------------------------------------------------------------------------------


def test_no_result_found(notify_rig: NotifyRig, trial_rig: NotifyRig) -> None:
    api = client(notify_rig)
    not_found = ("NoResultFound", "No result found")
    refused(lambda: api.get_notification_by_id(str(uuid.uuid4())), 404, not_found)
    refused(lambda: api.get_template(str(uuid.uuid4())), 404, not_found)
    refused(lambda: api.get_template_version(notify_rig.templates["email"], 99), 404, not_found)
    refused(lambda: api.get_template_version(str(uuid.uuid4()), 1), 404, not_found)
    refused(lambda: api.post_template_preview(str(uuid.uuid4()), {}), 404, not_found)
    # Another service's notification and template are not found.
    theirs = client(trial_rig, "test").send_sms_notification(
        STRANGER_PHONE, trial_rig.templates["sms"], PERSONALISATION
    )
    refused(lambda: api.get_notification_by_id(theirs["id"]), 404, not_found)
    refused(lambda: api.get_template(trial_rig.templates["sms"]), 404, not_found)
    # A smoke-test send is never stored.
    smoke = api.send_sms_notification(SMOKE_PHONE, notify_rig.templates["sms"], PERSONALISATION)
    refused(lambda: api.get_notification_by_id(smoke["id"]), 404, not_found)


def test_odd_template_versions(notify_rig: NotifyRig) -> None:
    template = notify_rig.templates["email"]
    try:
        refused(
            lambda: client(notify_rig).get_template_version(template, 10**20),
            404,
            ("NoResultFound", "No result found"),
        )
        response = raw(notify_rig, "GET", f"/v2/template/{template}/version/\u00b2")
        assert (response.status_code, response.json()) == (404, {"result": "error", "message": NOT_FOUND_URL})
    finally:
        settled(notify_rig)


# --- §11 limits ---------------------------------------------------------------------------------------------------


def test_daily_limits(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    limit = sent_today(notify_rig, "sms") + 1
    limits = {"sms_message_limit": limit, "email_message_limit": 0, "letter_message_limit": 0}
    pushed(settings={"notify": {**limits, "permissions": ["sms", "email"]}})
    live, team, test = client(notify_rig), client(notify_rig, "team"), client(notify_rig, "test")
    assert live.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION)["id"]
    for api, phone in [(live, STRANGER_PHONE), (team, "07700900456")]:
        refused(
            lambda api=api, phone=phone: api.send_sms_notification(phone, notify_rig.templates["sms"], PERSONALISATION),
            429,
            ("TooManyRequestsError", f"Exceeded send limits (sms: {limit}) for today"),
        )
    refused(
        lambda: live.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION),
        429,
        ("TooManyRequestsError", "Exceeded send limits (email: 0) for today"),
    )
    # §5.1: the daily limit (step 1) comes before the permission (step 3) and the template (step 4).
    refused(
        lambda: live.send_letter_notification(notify_rig.templates["letter"], {"name": "Ada", **ADDRESS}),
        429,
        ("TooManyRequestsError", "Exceeded send limits (letter: 0) for today"),
    )
    refused(
        lambda: live.send_sms_notification(STRANGER_PHONE, str(uuid.uuid4())),
        429,
        ("TooManyRequestsError", f"Exceeded send limits (sms: {limit}) for today"),
    )
    # Test keys are never counted, so never limited.
    assert test.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION)["id"]
    assert test.send_email_notification(STRANGER_EMAIL, notify_rig.templates["email"], PERSONALISATION)["id"]


def test_daily_limit_comes_before_the_schema(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    pushed(settings={"notify": {"sms_message_limit": 0}})
    refused(
        lambda: client(notify_rig).send_sms_notification("0770", notify_rig.templates["sms"]),
        429,
        ("TooManyRequestsError", "Exceeded send limits (sms: 0) for today"),
    )


def test_international_daily_limit(notify_rig: NotifyRig, pushed: Callable[..., None]) -> None:
    pushed(settings={"notify": {"international_sms_message_limit": 0}})
    api = client(notify_rig)
    refused(
        lambda: api.send_sms_notification("+33 6 12 34 56 78", notify_rig.templates["sms"], PERSONALISATION),
        429,
        ("TooManyRequestsError", "Exceeded send limits (international_sms: 0) for today"),
    )
    # UK numbers are not international; test keys are not counted.
    assert api.send_sms_notification(STRANGER_PHONE, notify_rig.templates["sms"], PERSONALISATION)["id"]
    assert client(notify_rig, "test").send_sms_notification(
        "+33 6 12 34 56 78", notify_rig.templates["sms"], PERSONALISATION
    )["id"]


def test_per_minute_rate_limit(slow_rig: NotifyRig) -> None:
    for key, label in [("test", "TEST"), ("live", "LIVE"), ("team", "TEAM")]:
        api = client(slow_rig, key)
        for _ in range(2):  # the bucket holds 2; the answers do not matter (the service has no templates)
            refused(
                lambda api=api: api.send_sms_notification(STRANGER_PHONE, str(uuid.uuid4())),
                400,
                ("BadRequestError", "Template not found"),
            )
        refused(
            lambda api=api: api.send_sms_notification(STRANGER_PHONE, str(uuid.uuid4())),
            429,
            ("RateLimitError", f"Exceeded rate limit for key type {label} of 1 requests per 60 seconds"),
        )
    # Reads draw from no bucket.
    assert client(slow_rig).get_all_notifications() == {
        "notifications": [],
        "links": {"current": f"{slow_rig.url}/v2/notifications"},
    }


# --- no input gives a 500 -----------------------------------------------------------------------------------------


def not_a_fault(response: httpx.Response) -> bool:
    """A 201, or a 4xx in the v2 envelope: anything but the 500 (or, through the rig's gateway, 504) of a bug."""
    if response.status_code == 201:
        return True
    body = response.json()
    return 400 <= response.status_code < 500 and body.get("status_code") == response.status_code and body["errors"]


def test_nul_characters_are_not_a_500(notify_rig: NotifyRig) -> None:
    cases: list[tuple[str, str, Any]] = [
        ("POST", "/v2/notifications/sms", sms(notify_rig, reference="a\u0000b")),
        ("POST", "/v2/notifications/email", email(notify_rig, reference="\u0000")),
        ("POST", "/v2/notifications/letter", letter(notify_rig, reference="\u0000")),
        ("GET", "/v2/notifications?reference=%00", None),
        ("POST", "/v2/notifications/letter", {"reference": "\u0000", "content": "JVBERi0xLjQK"}),
        (
            "POST",
            "/v2/notifications/letter",
            letter(notify_rig, personalisation={"name": "x", **ADDRESS, "address_line_2": "1\u0000"}),
        ),
    ]
    try:
        for method, path, body in cases:
            response = raw(notify_rig, method, path, key="test", json=body)
            assert not_a_fault(response), (method, path, body, response.status_code, response.text)
    finally:
        settled(notify_rig)


def test_long_stored_values_are_not_a_500(notify_rig: NotifyRig) -> None:
    long_address = {"name": "x", "address_line_1": "A" * 600, "address_line_2": "B" * 600, "postcode": "SW1A 1AA"}
    cases = [
        ("/v2/notifications/letter", letter(notify_rig, personalisation=long_address)),
        ("/v2/notifications/email", email(notify_rig, one_click_unsubscribe_url="https://example.com/" + "u" * 3000)),
    ]
    try:
        for path, body in cases:
            response = raw(notify_rig, "POST", path, key="test", json=body)
            assert not_a_fault(response), (path, response.status_code, response.text)
    finally:
        settled(notify_rig)


#: Values for every field. NUL characters and over-long address lines are left to the two xfail tests above.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    1.5e300,
    "",
    " ",
    "\u0007",
    "\U0001f600",
    "x" * 300,
    [],
    [None],
    {},
    {"a": {"b": [1, {"c": None}]}},
]


def _odd_bodies(channel: str, base: dict[str, Any]) -> Iterator[Any]:
    yield from [None, [], "x", 1, True, {}]
    for field in [*base, "reference", "personalisation", "scheduled_for", "foo"]:
        for value in ODD_VALUES:
            yield base | {field: value}
    personalisation = base["personalisation"]
    for value in [*ODD_VALUES, "\u0000", "x" * 5000, ["a", None, ""], {"k": "v"}]:
        yield base | {"personalisation": personalisation | dict.fromkeys(["name", "code", "date", "urgent"], value)}
    for value in ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "2024-02-30T00:00:00", "T", "24:00"]:
        yield base | {"scheduled_for": value}
    if channel == "sms":
        yield from (base | {"sms_sender_id": value} for value in [*ODD_VALUES, str(uuid.uuid4()).upper()])
        yield from (
            base | {"phone_number": value} for value in ["\u0667" * 11, "+" * 20, "0" * 5000, "07700900123\u00b2"]
        )
    if channel == "email":
        yield from (base | {"email_reply_to_id": value} for value in ODD_VALUES)
        yield from (base | {"sanitise_content_for": value} for value in [*ODD_VALUES, ["name", 1], ["NAME", "nope"]])
        yield from (
            base | {"one_click_unsubscribe_url": value}
            for value in [*ODD_VALUES, "https://[::1", "https://a/\u0007", "https://" + "a" * 300 + ".com"]
        )
        yield from (
            base | {"email_address": value}
            for value in ["a@\u0000.com", "a@xn--.com", "a@" + "b" * 300 + ".com", "a@\u4f8b\u3048.\u30c6\u30b9\u30c8"]
        )
    if channel == "letter":
        for line in ["address_line_1", "address_line_2", "address_line_3", "address_line_7", "postcode"]:
            yield from (base | {"personalisation": personalisation | {line: value}} for value in ODD_VALUES)


@pytest.mark.parametrize("channel", ["sms", "email", "letter"])
def test_odd_bodies_never_give_a_500(notify_rig: NotifyRig, channel: str) -> None:
    base = {"sms": sms, "email": email, "letter": letter}[channel](notify_rig)
    bodies = list(_odd_bodies(channel, base))

    async def post_all() -> list[httpx.Response]:
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=notify_rig.url, timeout=30) as http:

            async def post(body: Any) -> httpx.Response:
                async with gate:
                    headers = bearer(notify_rig.keys["test"])  # a fresh `iat` for each request
                    return await http.post(f"/v2/notifications/{channel}", json=body, headers=headers)

            return await asyncio.gather(*(post(body) for body in bodies))

    responses = asyncio.run(post_all())
    faults = [(body, r.status_code, r.text) for body, r in zip(bodies, responses, strict=True) if not not_a_fault(r)]
    if faults:
        settled(notify_rig)
    assert faults == []


@pytest.mark.parametrize(
    "path",
    [
        "/v2/notifications?older_than=%00",
        "/v2/notifications?status=%ff",
        "/v2/notifications?template_type=&status=",
        "/v2/notifications?reference=" + "x" * 5000,
        "/v2/notifications?include_jobs=true&include_jobs=yes",
        "/v2/notifications?older_than={uuid}&older_than=nope",
        "/v2/notifications/%00",
        "/v2/notifications/" + "0" * 5000,
        "/v2/received-text-messages?older_than=",
        "/v2/received-text-messages?older_than={uuid}",
        "/v2/templates?type=",
        "/v2/templates?type=sms&type=fax",
        "/v2/template/%20",
        "/v2/template/%00/version/1",
        "/v2/template/{email}/version/0",
        "/v2/template/{email}/version/2147483647",
        "/service/{service}/template/{email}/versions",
        "/service/nope/template/{email}/versions",
        "/service/{service}/template/nope/versions",
        "/service/{uuid}/template/{email}/versions",
    ],
)
def test_odd_reads_never_give_a_500(notify_rig: NotifyRig, path: str) -> None:
    url = path.format(email=notify_rig.templates["email"], uuid=uuid.uuid4(), service=notify_rig.service_id)
    response = raw(notify_rig, "GET", url)
    try:
        assert response.status_code in {200, 400, 404}, response.text
        body = response.json()
        assert response.status_code == 200 or body.get("status_code") == response.status_code or "result" in body
    finally:
        if response.status_code >= 500:
            settled(notify_rig)
